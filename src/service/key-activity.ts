import type { Logger } from "pino";
import type { StoreKeyEvent } from "../store/port";
import type { ServiceMetrics } from "./metrics";
import { fingerprint } from "./tokens";

/**
 * The key-activity log and counters: one structured line per key event (automatic
 * releases and expiries included) at info, with a short fingerprint of the key id,
 * never the id, and for a caller's change the caller's name, never a token.
 */
export function keyActivity(logger: Logger, metrics: ServiceMetrics): (event: StoreKeyEvent) => void {
  return (event) => {
    metrics.keyEvent(event.type);
    if (!logger.isLevelEnabled("info")) return;
    logger.info(
      {
        event: event.type,
        key: fingerprint(event.keyId),
        at: new Date(event.at).toISOString(),
        // The lease number is no secret: it fences, it does not grant (a caller needs the key id too).
        ...(event.lease === undefined ? {} : { lease: event.lease }),
        ...(event.by === undefined ? {} : { by: event.by }),
      },
      "key event",
    );
  };
}
