import { runDev } from './dev-command.ts';

// `npm start` and `offload dev` share this code (local/dev-command.ts).
await runDev(process.argv.slice(2));
