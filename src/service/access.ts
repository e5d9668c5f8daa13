import { type DescService, getOption } from "@bufbuild/protobuf";
import { Role as ProtoRole, required_role } from "../generated/tokens/v1/access_pb";
import type { CallStep } from "./pipeline";
import type { RateLimiter } from "./rate-limit";
import { CallError, Code } from "./status";
import type { Role, TokenSet } from "./tokens";

/**
 * The role each method requires, read from its `tokens.v1.required_role` option in
 * the compiled descriptors: the one method-to-role table. A method without the
 * option is for admins only, so a new RPC is closed until someone opens it.
 */
export function requiredRoles(services: readonly DescService[]): ReadonlyMap<string, Role> {
  const roles = new Map<string, Role>();
  for (const service of services) {
    for (const method of service.methods) {
      roles.set(`/${service.typeName}/${method.name}`, getOption(method, required_role) === ProtoRole.CLIENT ? "client" : "admin");
    }
  }
  return roles;
}

/**
 * The authentication step, one for both transports: with tokens configured, a call
 * needs `authorization: Bearer <token>` of a role the method allows. The caller it
 * finds goes on in the context (for the rate limit and the key-activity log).
 * Without tokens the service runs open (see config: loopback or ALLOW_UNAUTHENTICATED).
 */
export function authenticate(tokens: TokenSet | undefined, roles: ReadonlyMap<string, Role>): CallStep {
  return (request, context, next) => {
    if (tokens === undefined) return next(request, context);
    const caller = tokens.authenticate(context.authorization, context.remote.connection);
    if (caller === undefined) return Promise.reject(new CallError(Code.UNAUTHENTICATED, "a valid bearer token is required"));
    if (caller.role !== "admin" && (roles.get(context.method) ?? "admin") === "admin") {
      return Promise.reject(new CallError(Code.PERMISSION_DENIED, `the ${caller.role} role may not call this method`));
    }
    return next(request, { ...context, caller });
  };
}

/** The rate limit step: per token name, or per remote address when the service runs open. */
export function limitRate(limiter: RateLimiter): CallStep {
  return (request, context, next) => {
    const waitMs = limiter.take(context.caller === undefined ? `address ${context.remote.address}` : `token ${context.caller.name}`);
    if (waitMs > 0) return Promise.reject(new CallError(Code.RESOURCE_EXHAUSTED, "rate limit exceeded: retry later", waitMs));
    return next(request, context);
  };
}
