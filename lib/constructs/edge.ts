import { CfnOutput, Duration, Fn } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachedMethods,
  CacheHeaderBehavior,
  CachePolicy,
  CacheQueryStringBehavior,
  Distribution,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Construct } from 'constructs';

/** Props of {@link OffloadEdge}. */
export interface OffloadEdgeProps {
  readonly httpApi: HttpApi;
}

/**
 * CloudFront in front of the HTTP API. Task reads are cached per credential (Authorization is in
 * the cache key) for as long as the origin's `Cache-Control` allows: a second while a task runs,
 * a year once it is terminal. `Host` is never forwarded (API Gateway rejects a foreign Host).
 * POSTs pass through uncached. HTTPS only.
 */
export class OffloadEdge extends Construct {
  public readonly distribution: Distribution;
  public readonly cachePolicy: CachePolicy;

  public constructor(scope: Construct, id: string, props: OffloadEdgeProps) {
    super(scope, id);
    this.cachePolicy = new CachePolicy(this, 'TaskReads', {
      comment: 'Offload task reads: per-credential, origin-controlled TTLs',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(0),
      maxTtl: Duration.days(365),
      headerBehavior: CacheHeaderBehavior.allowList('Authorization'),
      queryStringBehavior: CacheQueryStringBehavior.all(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
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
        compress: true,
      },
    });
    new CfnOutput(this, 'CdnUrl', { value: `https://${this.distribution.distributionDomainName}`, description: 'CloudFront URL' });
  }
}
