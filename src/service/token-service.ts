import { TokenServiceService } from "../../clients/generated/tokens/v1/tokens";
import { checkKeyId } from "../core/key-id";
import type { KeyStore } from "../store/port";
import type { ServiceHandlers } from "./bind";

type Handlers = ServiceHandlers<typeof TokenServiceService>;

const toDate = (ms: number | null): Date | undefined => (ms === null ? undefined : new Date(ms));

/** The six RPCs over a store. Thin on purpose: the rules live in the store/core. */
export function tokenServiceHandlers(store: KeyStore): Handlers {
  return {
    create: async () => ({ keyId: (await store.create()).keyId }),
    acquire: async () => ({ keyId: (await store.acquire()).keyId }),
    get: async (request) => {
      const record = await store.get(checkKeyId(request.keyId));
      return {
        isBlocked: record.blockedAt !== null,
        blockedAt: toDate(record.blockedAt),
        createdAt: new Date(record.createdAt),
        expiresAt: new Date(record.expiresAt),
        releaseAt: toDate(record.releaseAt),
      };
    },
    delete: async (request) => {
      await store.delete(checkKeyId(request.keyId));
      return {};
    },
    release: async (request) => {
      await store.release(checkKeyId(request.keyId));
      return {};
    },
    keepAlive: async (request) => ({ expiresAt: new Date((await store.keepAlive(checkKeyId(request.keyId))).expiresAt) }),
  };
}

export { TokenServiceService };
