// The README's withKey example, verbatim; `npm test` type-checks it and runs it against a live server.
import { setTimeout as sleep } from "node:timers/promises";
import { createTokenClient, KeyState, LeaseLostError, withKey } from "./index";

export async function withKeyExample(address = "127.0.0.1:50051"): Promise<void> {
  const tokens = createTokenClient(address); // add { token } when the service has AUTH_TOKENS_FILE
  try {
    await tokens.create({}); // (admin) a key in the pool, for the example

    const used = await withKey(
      async ({ keyId, lease, signal }) => {
        // Work for longer than the 1 s hold: withKey renews it (here every ~330 ms) while this runs.
        // Pass `signal` on: it aborts the moment the hold is lost, and the work stops with it.
        await sleep(2500, undefined, { signal });
        const now = await tokens.get({ keyId });
        console.log("still ours after 2.5 s:", now.state === KeyState.LEASED && now.lease === lease);
        return keyId;
      },
      { client: tokens, waitMs: 5000, blockTtlMs: 1000 },
    );

    // Released with the lease as soon as the function returned (or threw, or was aborted).
    console.log("released:", (await tokens.get({ keyId: used })).state === KeyState.AVAILABLE);
  } catch (error) {
    // The key was deleted, or the hold ran out unrenewed: the work was cut short.
    if (error instanceof LeaseLostError) console.log("lease lost:", error.code, error.message);
    throw error;
  } finally {
    tokens.close();
  }
}
