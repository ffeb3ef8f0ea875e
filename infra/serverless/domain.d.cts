import type { CustomDomain } from './deploy-params.cjs';
import type { ServerlessResolver } from './relay-config.cjs';

type GetAtt = { 'Fn::GetAtt': [string, string] };
export type DomainResources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

export declare function domainResources(domain: CustomDomain | null): DomainResources;
export declare function publicUrl(resolver: ServerlessResolver): Promise<string | GetAtt>;
export declare function formerPublicUrls(resolver: ServerlessResolver): Promise<GetAtt | null>;
export declare function resources(resolver: ServerlessResolver): Promise<DomainResources>;
export declare function domainOf(resolver: ServerlessResolver): Promise<CustomDomain | null>;
