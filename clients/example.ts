// The README's client example, verbatim; `npm test` type-checks it and runs it against a live server.
import { createTokenClient } from "./index";

export async function example(address = "127.0.0.1:50051"): Promise<void> {
  const tokens = createTokenClient(address);
  try {
    const { keyId } = await tokens.create({});
    const acquired = await tokens.acquire({}, { timeoutMs: 1000 });
    const state = await tokens.get({ keyId: acquired.keyId });
    console.log(keyId, state.isBlocked, state.releaseAt?.toISOString());
    await tokens.keepAlive({ keyId: acquired.keyId });
    await tokens.release({ keyId: acquired.keyId });
  } finally {
    tokens.close();
  }
}
