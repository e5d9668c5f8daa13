import { HealthImplementation } from "grpc-health-check";

/**
 * The standard grpc.health.v1.Health service (from grpc-health-check), reporting
 * for the whole server ("") and for each named service.
 */
export class HealthReporter {
  readonly implementation: HealthImplementation;
  private serving = false;

  constructor(
    private readonly services: readonly string[],
    serving: boolean,
  ) {
    this.implementation = new HealthImplementation();
    this.set(serving);
  }

  isServing(): boolean {
    return this.serving;
  }

  set(serving: boolean): void {
    this.serving = serving;
    const status = serving ? "SERVING" : "NOT_SERVING";
    for (const service of ["", ...this.services]) this.implementation.setStatus(service, status);
  }
}
