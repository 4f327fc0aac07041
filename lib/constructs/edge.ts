import { Duration, Fn } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachedMethods,
  CacheHeaderBehavior,
  CachePolicy,
  CacheQueryStringBehavior,
  Distribution,
  type ErrorResponse,
  FunctionEventType,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  type ResponseSecurityHeadersBehavior,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Construct } from 'constructs';
import { accountUniqueName } from '../physical-names.ts';
import { EdgeCredentialCheck } from './edge-credential-check.ts';
import { REVOCATION_WINDOW_SECONDS } from '../../lambdas/handlers/http/conventions.ts';

/**
 * The error status codes a distribution may set an ErrorCachingMinTTL for. CloudFront caches 404,
 * 414 and 5xx for that TTL (10 s by default) whatever the origin's `Cache-Control` says, even
 * `no-store`, and 400, 403, 405 when the origin sends a max-age; 416 it never caches. All of them
 * get a TTL of 0 so that no error is ever served from the edge.
 */
export const CACHEABLE_ERROR_CODES = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504] as const;

/** HSTS max-age: two years (the preload list's minimum is one). */
const HSTS_MAX_AGE = Duration.days(730);

/**
 * The dashboard page's Content-Security-Policy: its own scripts, styles and API (same origin, behind
 * this distribution) and the WebSocket API's origin only; never framed (`frame-ancestors` works
 * only as a header, not in the page's `<meta>`).
 */
export const dashboardContentSecurityPolicy = (webSocketOrigin: string): string =>
  `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ${webSocketOrigin}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** The API's Content-Security-Policy: JSON only, nothing to load, never framed. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'" as const;

/** Security headers of every answer of the distribution (replacing the origin's). */
const securityHeaders = (contentSecurityPolicy: string): ResponseSecurityHeadersBehavior => ({
  contentSecurityPolicy: { contentSecurityPolicy, override: true },
  contentTypeOptions: { override: true },
  frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
  referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
  strictTransportSecurity: { accessControlMaxAge: HSTS_MAX_AGE, includeSubdomains: true, override: true },
});

/** Props of {@link OffloadEdge}. */
export interface OffloadEdgeProps {
  readonly httpApi: HttpApi;
  /** The WebSocket API's URL (`wss://…/live`): the dashboard's CSP lets the page connect to its origin. */
  readonly webSocketUrl: string;
}

/**
 * CloudFront in front of the HTTP API. Task reads are cached per credential (Authorization is in
 * the cache key) for as long as the origin's `s-maxage` allows: a second while a task runs, and
 * once it is terminal at most the revocation window ({@link REVOCATION_WINDOW_SECONDS}, also the
 * cache policy's MaxTTL) and never past the authorizer's verdict on the credential. Then the edge
 * revalidates with the ETag, through the authorizer: a revoked key or an expired client token is
 * refused at the origin instead of being served from the edge. Errors are never cached: the
 * origin's problem answers carry `no-store`, and since CloudFront caches errors for the
 * ErrorCachingMinTTL regardless, every cacheable code gets an error response with a TTL of 0 (no
 * custom page: the origin's status and body pass through, API Gateway's own errors included).
 * `Host` is never forwarded (API Gateway rejects a foreign Host). POSTs pass through uncached.
 * HTTPS only. Every answer carries security headers from a response headers policy
 * (`X-Content-Type-Options: nosniff`, HSTS, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`,
 * a CSP with `frame-ancestors 'none'`); the dashboard's behaviour uses {@link dashboardHeadersPolicy}.
 */
export class OffloadEdge extends Construct {
  public readonly distribution: Distribution;
  public readonly cachePolicy: CachePolicy;
  /** Security headers of API answers (the default behaviour). */
  public readonly apiHeadersPolicy: ResponseHeadersPolicy;
  /** Security headers of the dashboard (its behaviour, see `dashboard-site.ts`): CSP with `frame-ancestors 'none'`. */
  public readonly dashboardHeadersPolicy: ResponseHeadersPolicy;
  /** `https://<distribution domain>` (stack output `CdnUrl`). */
  public readonly url: string;

  public constructor(scope: Construct, id: string, props: OffloadEdgeProps) {
    super(scope, id);
    this.cachePolicy = new CachePolicy(this, 'TaskReads', {
      // Cache policy names are unique per account: name it after the stack and region.
      cachePolicyName: accountUniqueName(this, 'TaskReads', 128),
      comment: 'Offload task reads: per-credential, origin-controlled TTLs, at most the revocation window',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(0),
      maxTtl: Duration.seconds(REVOCATION_WINDOW_SECONDS),
      headerBehavior: CacheHeaderBehavior.allowList('Authorization'),
      queryStringBehavior: CacheQueryStringBehavior.all(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    // Response headers policy names are unique per account too.
    this.apiHeadersPolicy = new ResponseHeadersPolicy(this, 'ApiHeaders', {
      responseHeadersPolicyName: accountUniqueName(this, 'ApiHeaders', 128),
      comment: 'Offload API: nosniff, HSTS, no framing, no referrer',
      securityHeadersBehavior: securityHeaders(API_CONTENT_SECURITY_POLICY),
    });
    // `wss://<api id>.execute-api.<region>.amazonaws.com`: scheme and host of the stage URL.
    const webSocketParts = Fn.split('/', props.webSocketUrl);
    const webSocketOrigin = Fn.join('', [Fn.select(0, webSocketParts), '//', Fn.select(2, webSocketParts)]);
    this.dashboardHeadersPolicy = new ResponseHeadersPolicy(this, 'DashboardHeaders', {
      responseHeadersPolicyName: accountUniqueName(this, 'DashboardHeaders', 128),
      comment: 'Offload dashboard: CSP (own origin and the WebSocket API), nosniff, HSTS, no framing, no referrer',
      securityHeadersBehavior: securityHeaders(dashboardContentSecurityPolicy(webSocketOrigin)),
    });
    const apiDomain = Fn.select(2, Fn.split('/', props.httpApi.apiEndpoint));
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Offload API edge',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: new HttpOrigin(apiDomain, { protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY }),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachedMethods: CachedMethods.CACHE_GET_HEAD,
        cachePolicy: this.cachePolicy,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        responseHeadersPolicy: this.apiHeadersPolicy,
        compress: true,
        // Credential-less API requests are answered 401 here: no API Gateway request, no Lambda.
        functionAssociations: [{ function: new EdgeCredentialCheck(this, 'CredentialCheck').function, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      errorResponses: CACHEABLE_ERROR_CODES.map((httpStatus): ErrorResponse => ({ httpStatus, ttl: Duration.seconds(0) })),
    });
    this.url = `https://${this.distribution.distributionDomainName}`;
  }
}
