import { Duration, RemovalPolicy, Stage } from 'aws-cdk-lib';
import { AllowedMethods, CachedMethods, CachePolicy, type Distribution, type IResponseHeadersPolicy, S3OriginAccessControl, ViewerProtocolPolicy } from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import path from 'node:path';
import { buildDashboard } from '../../dashboard/build.ts';
import { DASHBOARD_CONFIG, DASHBOARD_PAGE, DASHBOARD_PATH } from '../../dashboard/site.ts';
import { accountUniqueName } from '../physical-names.ts';

/** Props of {@link OffloadDashboardSite}. */
export interface OffloadDashboardSiteProps {
  /** The distribution in front of the HTTP API: the dashboard is served from it, so its API calls are same-origin. */
  readonly distribution: Distribution;
  /** The WebSocket API URL written to the dashboard's `config.json`. */
  readonly webSocketUrl: string;
  /** Security headers of the dashboard's behaviour (CSP, HSTS, …: `OffloadEdge.dashboardHeadersPolicy`). @default none */
  readonly responseHeadersPolicy?: IResponseHeadersPolicy;
  /** How long browsers and CloudFront keep the files; a deployment shows within this time. @default 60 s */
  readonly maxAge?: Duration;
}

/**
 * The dashboard as a static site behind the stack's CloudFront distribution: a private, encrypted,
 * TLS-only bucket reachable only by CloudFront (origin access control), served under
 * `/dashboard/*`, and filled at deploy time by a `BucketDeployment` with the built dashboard and a
 * `config.json` naming the WebSocket URL. No credential is ever deployed: users sign in with a
 * client token or API key, kept in their browser tab only.
 */
export class OffloadDashboardSite extends Construct {
  public readonly bucket: Bucket;
  public readonly deployment: BucketDeployment;
  /** `https://<distribution>/dashboard/index.html` (stack output `DashboardUrl`). */
  public readonly url: string;

  public constructor(scope: Construct, id: string, props: OffloadDashboardSiteProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Only built files live here, redeployed by every `cdk deploy`: nothing to keep. The
      // deployment empties the bucket when the stack is deleted (retainOnDelete: false).
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Origin access control names are unique per account (64 characters): name it after the stack and region.
    const originAccessControl = new S3OriginAccessControl(this, 'OriginAccessControl', {
      originAccessControlName: accountUniqueName(this, 'Dashboard', 64),
      description: 'Offload dashboard bucket, read by the distribution only',
    });
    props.distribution.addBehavior(`${DASHBOARD_PATH}*`, S3BucketOrigin.withOriginAccessControl(this.bucket, { originAccessControl }), {
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: CachedMethods.CACHE_GET_HEAD,
      cachePolicy: CachePolicy.CACHING_OPTIMIZED,
      ...(props.responseHeadersPolicy ? { responseHeadersPolicy: props.responseHeadersPolicy } : {}),
      compress: true,
    });
    // Built while synthesizing, next to the cloud assembly (then staged as an asset like any other).
    const outdir = Stage.of(this)?.outdir ?? '.';
    const { outDir } = buildDashboard(path.join(outdir, 'dashboard-build'));
    this.deployment = new BucketDeployment(this, 'Deployment', {
      sources: [Source.asset(outDir), Source.jsonData(DASHBOARD_CONFIG, { webSocketUrl: props.webSocketUrl })],
      destinationBucket: this.bucket,
      destinationKeyPrefix: DASHBOARD_PATH.slice(1),
      prune: true,
      retainOnDelete: false,
      cacheControl: [CacheControl.setPublic(), CacheControl.maxAge(props.maxAge ?? Duration.seconds(60))],
      memoryLimit: 256,
      // Its provider's logs (deploy time only) expire like every other function's.
      logGroup: new LogGroup(this, 'DeploymentLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
    });
    this.url = `https://${props.distribution.distributionDomainName}${DASHBOARD_PATH}${DASHBOARD_PAGE}`;
  }
}
