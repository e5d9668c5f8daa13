// The README's lease example, verbatim; `npm test` type-checks it and runs it against a live server.
import { Code, createTokenClient, KeyState, type ServiceError } from "./index";

const seconds = (n: number) => ({ seconds: n, nanos: 0 });

export async function leaseExample(address = "127.0.0.1:50051"): Promise<void> {
  const tokens = createTokenClient(address); // add { token } when the service has AUTH_TOKENS_FILE
  try {
    // A lifetime of our own: asked, clamped to [1 s, MAX_KEY_TTL], and echoed.
    const created = await tokens.create({ ttl: seconds(600) });
    console.log("lifetime granted:", created.ttl?.seconds);

    // Wait up to 5 s for a key, and hold it 90 s. The lease is our fencing token.
    const held = await tokens.acquire({ blockTtl: seconds(90), wait: seconds(5) }, { timeoutMs: 6000 });

    // KeepAlive with the lease renews the key's lifetime and our hold.
    const renewed = await tokens.keepAlive({ keyId: held.keyId, lease: held.lease });
    console.log("hold renewed to:", renewed.releaseAt?.toISOString());

    // A lease that is not the key's current one changes nothing: ABORTED.
    const stale = await tokens.release({ keyId: held.keyId, lease: held.lease + 1 }).catch((error: ServiceError) => error.code);
    console.log("stale lease refused:", stale === Code.ABORTED);

    // Release into a 1 s cooldown: COOLING now, AVAILABLE again at releaseAt exactly.
    await tokens.release({ keyId: held.keyId, lease: held.lease, cooldown: seconds(1) });
    const cooling = await tokens.get({ keyId: held.keyId });
    console.log("cooling:", cooling.state === KeyState.COOLING);

    // Inspection (admin): counts by state, and the keys page by page.
    console.log("stats:", await tokens.stats({}));
    let listed = 0;
    let pageToken = "";
    do {
      const page = await tokens.list({ pageSize: 100, pageToken, state: KeyState.COOLING });
      listed += page.keys.length;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    console.log("cooling keys listed:", listed);
  } finally {
    tokens.close();
  }
}
