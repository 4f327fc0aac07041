/** Small DOM helpers. Text is always set with `textContent`: nothing from the API is parsed as HTML. */

/** The element with this id, of the expected type; throws if the page lacks it. */
export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page has no #${id}`);
  return element as T;
};

/** Creates an element with attributes (`class`, `data-*`, ...) and text or element children. */
export const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return element;
};

/** Shows `message` in an error paragraph, or hides it when `message` is undefined. */
export const showError = (element: HTMLElement, message: string | undefined): void => {
  element.textContent = message ?? '';
  element.hidden = message === undefined;
};

/** A status badge (`<span class="status" data-status="...">`). */
export const statusBadge = (status: string): HTMLSpanElement => el('span', { class: 'status', 'data-status': status }, status);

/** Sets a status badge's text and colour. */
export const setStatus = (badge: HTMLElement, status: string): void => {
  badge.textContent = status;
  badge.dataset.status = status;
};

/** A readable message for anything thrown by the SDK (problem+json `detail` when there is one). */
export const messageOf = (error: unknown): string => {
  const problem = (error as { problem?: { title?: string; detail?: string } } | undefined)?.problem;
  if (problem?.detail) return problem.title ? `${problem.title}: ${problem.detail}` : problem.detail;
  return error instanceof Error ? error.message : String(error);
};

/** Local date and time of an ISO-8601 string. */
export const localTime = (iso: string): string => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
};
