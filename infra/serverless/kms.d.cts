import type { ServerlessResolver } from './relay-config.cjs';
import type { SecretResource } from './secret-arns.cjs';

export interface KmsDecryptStatement {
  Effect: 'Allow';
  Action: 'kms:Decrypt';
  Resource: string[];
  Condition: {
    StringEquals: { 'kms:ViaService': { 'Fn::Sub': string } };
    StringLike: { 'kms:EncryptionContext:SecretARN': SecretResource[] };
  };
}

export declare function kmsDecryptStatement(keyArns: string[], secretResources: SecretResource[]): KmsDecryptStatement;
export declare function secretsKmsKeyArns(resolver: ServerlessResolver): Promise<string[]>;
