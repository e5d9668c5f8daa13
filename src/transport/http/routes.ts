import { type DescMethod, type DescService, getOption, hasOption, type Registry } from "@bufbuild/protobuf";
import { matchTemplate, parseTemplate, type PathTemplate } from "./path-template";

/** One HTTP binding of one RPC, read from its google.api.http rule. */
export interface Route {
  readonly httpMethod: string;
  readonly template: PathTemplate;
  /** "" (no body), "*" (the whole request), or the field the body fills. */
  readonly body: string;
  /** "" (the whole response) or the field whose value is the body. */
  readonly responseBody: string;
  readonly method: DescMethod;
  /** "/package.Service/Method": how the call pipeline names the method. */
  readonly grpcPath: string;
}

/** The subset of google.api.HttpRule this reads (it arrives as a dynamic message). */
interface HttpRule {
  readonly pattern: { readonly case: string | undefined; readonly value?: unknown };
  readonly body: string;
  readonly responseBody: string;
  readonly additionalBindings: readonly HttpRule[];
}

/**
 * The route table, derived from the compiled descriptors and nothing else:
 * every method of `services` with a google.api.http option, additional_bindings
 * included. An RPC with an http option appears over REST with no other change.
 */
export function routesFromDescriptors(registry: Registry, services: readonly string[]): Route[] {
  const extension = registry.getExtension("google.api.http");
  if (extension === undefined) throw new Error("the descriptors do not declare google.api.http");
  const routes: Route[] = [];
  for (const name of services) {
    const service: DescService | undefined = registry.getService(name);
    if (service === undefined) throw new Error(`service ${name} is not in the descriptors`);
    for (const method of service.methods) {
      if (method.methodKind !== "unary" || !hasOption(method, extension)) continue;
      const rule = getOption(method, extension) as unknown as HttpRule;
      for (const binding of [rule, ...rule.additionalBindings]) routes.push(routeOf(method, binding));
    }
  }
  return routes;
}

function routeOf(method: DescMethod, rule: HttpRule): Route {
  const { case: kind, value } = rule.pattern;
  let httpMethod: string;
  let path: string;
  if (kind === "custom") {
    const custom = value as { kind: string; path: string };
    httpMethod = custom.kind.toUpperCase();
    path = custom.path;
  } else if (kind !== undefined && typeof value === "string") {
    httpMethod = kind.toUpperCase();
    path = value;
  } else {
    throw new Error(`${method.parent.typeName}.${method.name}: google.api.http has no pattern`);
  }
  return {
    httpMethod,
    template: parseTemplate(path),
    body: rule.body,
    responseBody: rule.responseBody,
    method,
    grpcPath: `/${method.parent.typeName}/${method.name}`,
  };
}

export type RouteMatch =
  | { readonly kind: "found"; readonly route: Route; readonly variables: Map<string, string> }
  | { readonly kind: "wrong-method"; readonly allow: readonly string[] }
  | { readonly kind: "none" };

/**
 * A matcher precompiled from the table: routes bucketed by their first literal
 * segment so a request tries only the few that could match. Earlier routes win.
 */
export class RouteMatcher {
  private readonly buckets = new Map<string, Route[]>();
  private readonly wildcard: Route[] = [];

  constructor(readonly routes: readonly Route[]) {
    for (const route of routes) {
      const first = route.template.pieces[0];
      if (first?.kind === "literal") {
        const bucket = this.buckets.get(first.text) ?? [];
        bucket.push(route);
        this.buckets.set(first.text, bucket);
      } else {
        this.wildcard.push(route);
      }
    }
  }

  match(httpMethod: string, path: string): RouteMatch {
    const slash = path.indexOf("/", 1);
    const first = path.slice(1, slash < 0 ? undefined : slash).split(":")[0] ?? "";
    const bucket = this.buckets.get(first);
    const candidates = this.wildcard.length === 0 ? (bucket ?? []) : [...(bucket ?? []), ...this.wildcard];
    const allow = new Set<string>();
    for (const route of candidates) {
      const variables = matchTemplate(route.template, path);
      if (variables === undefined) continue;
      if (route.httpMethod === httpMethod) return { kind: "found", route, variables };
      allow.add(route.httpMethod);
    }
    return allow.size > 0 ? { kind: "wrong-method", allow: [...allow].sort() } : { kind: "none" };
  }
}
