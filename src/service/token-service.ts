import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { checkKeyId } from "../core/key-id";
import { TokenService } from "../generated/tokens/v1/tokens_pb";
import type { KeyStore } from "../store/port";
import type { ServiceHandlers } from "./bind";

const timestampOrUnset = (ms: number | null) => (ms === null ? undefined : timestampFromMs(ms));

/** The six RPCs over a store. Thin on purpose: the rules live in the store/core. */
export function tokenServiceHandlers(store: KeyStore): ServiceHandlers<typeof TokenService> {
  return {
    create: async (_request, context) => ({ keyId: (await store.create(context.caller?.name)).keyId }),
    acquire: async (_request, context) => ({ keyId: (await store.acquire(context.caller?.name)).keyId }),
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
    delete: async (request, context) => {
      await store.delete(checkKeyId(request.keyId), context.caller?.name);
      return {};
    },
    release: async (request, context) => {
      await store.release(checkKeyId(request.keyId), context.caller?.name);
      return {};
    },
    keepAlive: async (request, context) => ({
      expiresAt: timestampFromMs((await store.keepAlive(checkKeyId(request.keyId), context.caller?.name)).expiresAt),
    }),
  };
}

export { TokenService };
