import { type DescMethod, type DescService, getOption, hasOption, type Registry } from "@bufbuild/protobuf";
import { matchSegments, parseTemplate, type PathTemplate } from "./path-template";

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
      // Unary methods and server streams (served as Server-Sent Events); a stream the caller writes has no REST form.
      if ((method.methodKind !== "unary" && method.methodKind !== "server_streaming") || !hasOption(method, extension)) continue;
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

/** The routes of one path template, by HTTP method (the first binding of a method wins). */
interface TemplateRoutes {
  readonly template: PathTemplate;
  readonly byMethod: Map<string, Route>;
}

/**
 * A matcher precompiled from the table: routes grouped by path template, and the
 * templates bucketed by their first literal segment, so a request is split once and
 * tries only the few templates that could match. Earlier routes win.
 */
export class RouteMatcher {
  private readonly buckets = new Map<string, TemplateRoutes[]>();
  private readonly wildcard: TemplateRoutes[] = [];

  constructor(readonly routes: readonly Route[]) {
    const groups = new Map<string, TemplateRoutes>();
    for (const route of routes) {
      let group = groups.get(route.template.source);
      if (group === undefined) {
        group = { template: route.template, byMethod: new Map() };
        groups.set(route.template.source, group);
        const first = route.template.pieces[0];
        if (first?.kind === "literal") {
          const bucket = this.buckets.get(first.text) ?? [];
          bucket.push(group);
          this.buckets.set(first.text, bucket);
        } else {
          this.wildcard.push(group);
        }
      }
      if (!group.byMethod.has(route.httpMethod)) group.byMethod.set(route.httpMethod, route);
    }
  }

  match(httpMethod: string, path: string): RouteMatch {
    if (!path.startsWith("/")) return NONE;
    const segments = path.slice(1).split("/");
    const first = segments[0] as string;
    const colon = first.indexOf(":"); // a custom verb ("/keys:list") is not part of the bucket's literal
    const bucket = this.buckets.get(colon < 0 ? first : first.slice(0, colon));
    const candidates = this.wildcard.length === 0 ? (bucket ?? NO_TEMPLATES) : [...(bucket ?? NO_TEMPLATES), ...this.wildcard];
    let allow: Set<string> | undefined;
    for (const group of candidates) {
      const variables = matchSegments(group.template, segments);
      if (variables === undefined) continue;
      const route = group.byMethod.get(httpMethod);
      if (route !== undefined) return { kind: "found", route, variables };
      allow ??= new Set();
      for (const method of group.byMethod.keys()) allow.add(method);
    }
    return allow === undefined ? NONE : { kind: "wrong-method", allow: [...allow].sort() };
  }
}

const NONE: RouteMatch = { kind: "none" };
const NO_TEMPLATES: readonly TemplateRoutes[] = [];
