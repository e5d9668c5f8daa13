import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { checkKeyId } from "../core/key-id";
import { TokenService } from "../generated/tokens/v1/tokens_pb";
import type { KeyStore } from "../store/port";
import type { ServiceHandlers } from "./bind";

const timestampOrUnset = (ms: number | null) => (ms === null ? undefined : timestampFromMs(ms));

/** The six RPCs over a store. Thin on purpose: the rules live in the store/core. */
export function tokenServiceHandlers(store: KeyStore): ServiceHandlers<typeof TokenService> {
  return {
    create: async () => ({ keyId: (await store.create()).keyId }),
    acquire: async () => ({ keyId: (await store.acquire()).keyId }),
    get: async (request) => {
      const record = await store.get(checkKeyId(request.keyId));
      return {
        isBlocked: record.blockedAt !== null,
        blockedAt: timestampOrUnset(record.blockedAt),
        createdAt: timestampFromMs(record.createdAt),
        expiresAt: timestampFromMs(record.expiresAt),
        releaseAt: timestampOrUnset(record.releaseAt),
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
    keepAlive: async (request) => ({ expiresAt: timestampFromMs((await store.keepAlive(checkKeyId(request.keyId))).expiresAt) }),
  };
}

export { TokenService };
