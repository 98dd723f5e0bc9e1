import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ErrorCode, FluxError } from '@flux/domain';

export interface SealedSecret {
  readonly ciphertext: string;
  readonly iv: string;
  readonly authTag: string;
}

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;

/**
 * AES-256-GCM sealing of connector credentials with FLUX_ENCRYPTION_KEY. The additional
 * authenticated data binds a ciphertext to its owner and connector, so a stored secret
 * cannot be replayed under another namespace.
 */
export class CredentialVault {
  constructor(private readonly key: Buffer | undefined) {}

  get configured(): boolean {
    return this.key !== undefined;
  }

  seal(plaintext: string, context: string): SealedSecret {
    const key = this.requireKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { ciphertext: ciphertext.toString('base64'), iv: iv.toString('base64'), authTag: cipher.getAuthTag().toString('base64') };
  }

  open(sealed: SealedSecret, context: string): string {
    const key = this.requireKey();
    try {
      const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(sealed.iv, 'base64'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(sealed.authTag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new FluxError(ErrorCode.Internal, 'stored credential cannot be decrypted (was FLUX_ENCRYPTION_KEY changed?)', { cause: error });
    }
  }

  private requireKey(): Buffer {
    if (this.key === undefined) {
      throw new FluxError(
        ErrorCode.NotConfigured,
        'credential storage is not configured: set FLUX_ENCRYPTION_KEY to the base64 of 32 random bytes (openssl rand -base64 32)',
      );
    }
    return this.key;
  }
}
