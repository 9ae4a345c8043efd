package dev.gatehouse.policy;

import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.PolicyRule.ArgumentConstraint;
import dev.gatehouse.policy.PolicyRule.Limits;
import dev.gatehouse.policy.PolicyRule.Match;
import dev.gatehouse.policy.PolicyRule.Targets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Function;

/** A {@link PolicyRule} with every glob, regex and CEL expression compiled, and its rate limiters. */
final class CompiledRule {

  /** Which list of a rule matched an action, and with which pattern. */
  record Hit(boolean server, String list, Glob glob) {
    /** {@code tool 'files__write_file' matches deny pattern 'files__write_*'}. */
    String describe(Action a) {
      if (server) {
        return a.kind() + " '" + a.target() + "' is on server '" + serverOf(a) + "', which matches " + list
            + " servers pattern '" + glob.source() + "'";
      }
      return a.kind() + " '" + a.target() + "' matches " + list + " pattern '" + glob.source() + "'";
    }
  }

  /** A tool limit: calls of tools matching {@code tools}, per principal. */
  record ToolLimit(Glob tools, RateLimiter limiter) {}

  /** The argument checks for tools matching one glob. */
  record ToolArguments(Glob tools, List<ArgumentCheck> checks) {}

  final PolicyRule rule;
  final String id;
  final PrincipalMatcher when;
  final CelCondition condition;
  final CompiledTargets allow;
  final CompiledTargets deny;
  final List<ToolArguments> arguments;
  final RateLimiter requests;
  final List<ToolLimit> toolLimits;

  private CompiledRule(PolicyRule rule, PrincipalMatcher when, CelCondition condition, CompiledTargets allow,
      CompiledTargets deny, List<ToolArguments> arguments, RateLimiter requests, List<ToolLimit> toolLimits) {
    this.rule = rule;
    this.id = rule.id();
    this.when = when;
    this.condition = condition;
    this.allow = allow;
    this.deny = deny;
    this.arguments = arguments;
    this.requests = requests;
    this.toolLimits = toolLimits;
  }

  /** Compiles everything but the CEL condition, so {@link PolicyRule}'s constructor can fail early. */
  static void checkSyntax(Match when, Targets allow, Targets deny, Map<String, Map<String, ArgumentConstraint>> arguments,
      Limits limits) {
    PrincipalMatcher.compile(when);
    CompiledTargets.compile("allow", allow);
    CompiledTargets.compile("deny", deny);
    compileArguments(arguments);
    limits.toolsPerMinute().keySet().forEach(g -> glob("limits.tools_per_minute", g));
  }

  /**
   * Compiles a rule. {@code limiter} supplies the limiter for a (scope, per-minute) pair so the engine
   * can hand a reconfigured rule its previous buckets.
   */
  static CompiledRule compile(PolicyRule rule, Function<LimitKey, RateLimiter> limiter) {
    CelCondition condition = null;
    if (rule.condition().isPresent()) {
      try {
        condition = CelCondition.compile(rule.condition().get());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("policy '" + rule.id() + "': " + e.getMessage(), e);
      }
    }
    Limits limits = rule.limits();
    RateLimiter requests = null;
    if (limits.requestsPerMinute().isPresent()) {
      requests = limiter.apply(new LimitKey(rule.id(), LimitKey.REQUESTS, limits.requestsPerMinute().getAsInt()));
    }
    List<ToolLimit> toolLimits = new ArrayList<>();
    limits.toolsPerMinute().forEach((g, n) ->
        toolLimits.add(new ToolLimit(glob("limits.tools_per_minute", g), limiter.apply(new LimitKey(rule.id(), g, n)))));
    return new CompiledRule(rule, PrincipalMatcher.compile(rule.when()), condition,
        CompiledTargets.compile("allow", rule.allow()), CompiledTargets.compile("deny", rule.deny()),
        compileArguments(rule.arguments()), requests, List.copyOf(toolLimits));
  }

  /** Identifies one limit across reconfigurations: same rule, same scope, same rate → same buckets. */
  record LimitKey(String ruleId, String scope, int perMinute) {
    static final String REQUESTS = "";
  }

  /**
   * Whom this rule's limits count {@code p} for: its scope's bucket owner. Per principal, the principal
   * itself (as before scopes existed, so buckets survive an upgrade); otherwise an owner no issuer can
   * forge ({@code gatehouse:key}, {@code gatehouse:tenant}, {@code gatehouse:group}) and the value. A
   * caller without what the scope names counts as itself.
   */
  RateLimiter.Key scope(Principal p) {
    switch (rule.limits().per()) {
      case KEY -> {
        if (p.keyId().isPresent()) {
          return new RateLimiter.Key("gatehouse:key", p.keyId().get());
        }
      }
      case TENANT -> {
        if (p.tenant().isPresent()) {
          return new RateLimiter.Key("gatehouse:tenant", p.tenant().get());
        }
      }
      case GROUP -> {
        TreeSet<String> named = when.namedGroups(p);
        if (!named.isEmpty()) {
          return new RateLimiter.Key("gatehouse:group", String.join(",", named));
        }
      }
      case PRINCIPAL -> { }
    }
    return new RateLimiter.Key(p.issuer(), p.subject());
  }

  /** {@link #scope} as a refusal names it ({@code tenant 'acme'}); {@code principal} for a principal's own. */
  static String describe(RateLimiter.Key key, String principal) {
    return switch (key.issuer()) {
      case "gatehouse:key" -> "API key '" + key.subject() + "'";
      case "gatehouse:tenant" -> "tenant '" + key.subject() + "'";
      case "gatehouse:group" -> "group '" + key.subject() + "'";
      default -> principal;
    };
  }

  boolean limited() {
    return requests != null || !toolLimits.isEmpty();
  }

  /** The argument checks that apply to this tool call, in config order. */
  List<ArgumentCheck> checksFor(Action a) {
    if (arguments.isEmpty() || !(a instanceof Action.Tool t)) {
      return List.of();
    }
    List<ArgumentCheck> out = null;
    for (ToolArguments ta : arguments) {
      if (ta.tools().matches(t.name())) {
        if (out == null) {
          out = new ArrayList<>();
        }
        out.addAll(ta.checks());
      }
    }
    return out == null ? List.of() : out;
  }

  private static List<ToolArguments> compileArguments(Map<String, Map<String, ArgumentConstraint>> arguments) {
    List<ToolArguments> out = new ArrayList<>();
    arguments.forEach((tool, paths) -> {
      Glob g = glob("arguments", tool);
      List<ArgumentCheck> checks = new ArrayList<>();
      paths.forEach((path, c) -> {
        try {
          checks.add(ArgumentCheck.compile(path, c));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("arguments." + tool + "." + e.getMessage(), e);
        }
      });
      out.add(new ToolArguments(g, List.copyOf(checks)));
    });
    return List.copyOf(out);
  }

  private static Glob glob(String field, String pattern) {
    try {
      return Glob.compile(pattern);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + ": " + e.getMessage(), e);
    }
  }

  static String serverOf(Action a) {
    return switch (a) {
      case Action.Tool t -> t.server();
      case Action.Resource r -> r.server();
      case Action.Prompt p -> p.server();
      case Action.Model m -> "";
      case Action.Session s -> "";
    };
  }

  /** A {@link Targets} compiled: which list applies depends on the kind of action. */
  static final class CompiledTargets {
    private final String list;
    private final GlobList servers;
    private final GlobList tools;
    private final GlobList resources;
    private final GlobList prompts;
    private final GlobList models;

    private CompiledTargets(String list, Targets t) {
      this.list = list;
      this.servers = GlobList.compile(list + ".servers", t.servers());
      this.tools = GlobList.compile(list + ".tools", t.tools());
      this.resources = GlobList.compile(list + ".resources", t.resources());
      this.prompts = GlobList.compile(list + ".prompts", t.prompts());
      this.models = GlobList.compile(list + ".models", t.models());
    }

    static CompiledTargets compile(String list, Targets t) {
      return new CompiledTargets(list, t);
    }

    boolean isEmpty() {
      return servers.isEmpty() && tools.isEmpty() && resources.isEmpty() && prompts.isEmpty() && models.isEmpty();
    }

    /** Whether this list names tools, servers, resources or prompts but no models. */
    boolean withoutModels() {
      return models.isEmpty() && !isEmpty();
    }

    /**
     * As {@link #match}, for a deny list: a resource is denied when any of its
     * {@link ResourceUris#spellings spellings} is covered, so an upstream that reads {@code s:/x} as
     * {@code s://x} cannot be asked for a denied resource by its other spelling.
     */
    Hit matchDeny(Action a) {
      Hit hit = match(a);
      if (hit != null || !(a instanceof Action.Resource r)) {
        return hit;
      }
      for (String spelling : ResourceUris.spellings(r.uri())) {
        Glob g = resources.match(spelling);
        if (g != null) {
          return new Hit(false, list, g);
        }
      }
      return null;
    }

    /**
     * The pattern covering this action, or null: its own list first ({@code tools} for a tool), then
     * {@code servers} for anything a server owns. Models have no server.
     */
    Hit match(Action a) {
      GlobList own;
      String server;
      switch (a) {
        case Action.Tool t -> {
          own = tools;
          server = t.server();
        }
        case Action.Resource r -> {
          own = resources;
          server = r.server();
        }
        case Action.Prompt p -> {
          own = prompts;
          server = p.server();
        }
        case Action.Model m -> {
          own = models;
          server = null;
        }
        case Action.Session s -> {
          return null; // sessions are neither granted nor denied by patterns
        }
      }
      Glob g = own.match(a.target());
      if (g != null) {
        return new Hit(false, list, g);
      }
      if (server != null) {
        g = servers.match(server);
        if (g != null) {
          return new Hit(true, list, g);
        }
      }
      return null;
    }
  }

  /** A {@link Match} compiled. */
  static final class PrincipalMatcher {
    private final Match match;
    private final boolean any;
    private final GlobList issuers;
    private final GlobList subjects;
    private final GlobList tenants;
    private final GlobList groups;
    private final GlobList roles;
    private final GlobList scopes;
    private final List<String> claimPaths;
    private final List<GlobList> claimGlobs;

    private PrincipalMatcher(Match m) {
      this.match = m;
      this.any = m.isAny();
      this.issuers = GlobList.compile("when.issuers", m.issuers());
      this.subjects = GlobList.compile("when.subjects", m.subjects());
      this.tenants = GlobList.compile("when.tenants", m.tenants());
      this.groups = GlobList.compile("when.groups", m.groups());
      this.roles = GlobList.compile("when.roles", m.roles());
      this.scopes = GlobList.compile("when.scopes", m.scopes());
      this.claimPaths = List.copyOf(m.claims().keySet());
      List<GlobList> globs = new ArrayList<>();
      m.claims().forEach((path, accepted) -> globs.add(GlobList.compile("when.claims." + path, accepted)));
      this.claimGlobs = List.copyOf(globs);
    }

    static PrincipalMatcher compile(Match m) {
      return new PrincipalMatcher(m);
    }

    /** The caller's groups this names (all of them if it names none), sorted. */
    TreeSet<String> namedGroups(Principal p) {
      TreeSet<String> out = new TreeSet<>();
      for (String g : p.groups()) {
        if (groups.isEmpty() || groups.match(g) != null) {
          out.add(g);
        }
      }
      return out;
    }

    boolean matches(Principal p) {
      return any || mismatch(p, false) == null;
    }

    /** Why this does not match {@code p}, for explanations; empty when it matches. */
    Optional<String> describeMismatch(Principal p) {
      return any ? Optional.empty() : Optional.ofNullable(mismatch(p, true));
    }

    // With describe=false returns a non-null marker instead of building a message.
    private String mismatch(Principal p, boolean describe) {
      if (!issuers.isEmpty() && issuers.match(p.issuer()) == null) {
        return describe ? "when.issuers: '" + p.issuer() + "' matches none of " + issuers : "";
      }
      if (!subjects.isEmpty() && subjects.match(p.subject()) == null) {
        return describe ? "when.subjects: '" + p.subject() + "' matches none of " + subjects : "";
      }
      if (!tenants.isEmpty()) {
        if (p.tenant().isEmpty()) {
          return describe ? "when.tenants: no tenant (expected one of " + tenants + ")" : "";
        }
        if (tenants.match(p.tenant().get()) == null) {
          return describe ? "when.tenants: '" + p.tenant().get() + "' matches none of " + tenants : "";
        }
      }
      if (!groups.isEmpty() && groups.matchAny(p.groups()) == null) {
        return describe ? "when.groups: " + sorted(p.groups()) + " matches none of " + groups : "";
      }
      if (!roles.isEmpty() && roles.matchAny(p.roles()) == null) {
        return describe ? "when.roles: " + sorted(p.roles()) + " matches none of " + roles : "";
      }
      if (!scopes.isEmpty() && scopes.matchAny(p.scopes()) == null) {
        return describe ? "when.scopes: " + sorted(p.scopes()) + " matches none of " + scopes : "";
      }
      for (int i = 0; i < claimPaths.size(); i++) {
        String path = claimPaths.get(i);
        GlobList accepted = claimGlobs.get(i);
        Optional<Object> claim = p.claim(path);
        if (claim.isEmpty() || !claimMatches(claim.get(), accepted)) {
          if (!describe) {
            return "";
          }
          return "when.claims." + path + ": " + (claim.isEmpty()
              ? "claim absent (expected one of " + accepted + ")"
              : renderClaim(claim.get()) + " matches none of " + accepted);
        }
      }
      return null;
    }

    private static boolean claimMatches(Object value, GlobList accepted) {
      if (value instanceof List<?> list) {
        for (Object element : list) {
          if (scalar(element) && accepted.match(String.valueOf(element)) != null) {
            return true;
          }
        }
        return false;
      }
      return scalar(value) && accepted.match(String.valueOf(value)) != null;
    }

    private static boolean scalar(Object o) {
      return o instanceof String || o instanceof Number || o instanceof Boolean;
    }

    private static String renderClaim(Object value) {
      if (value instanceof String s) {
        return "'" + s + "'";
      }
      if (value instanceof Map<?, ?>) {
        return "an object";
      }
      return String.valueOf(value);
    }

    Match match() {
      return match;
    }
  }

  static List<String> sorted(java.util.Collection<String> values) {
    return List.copyOf(new TreeSet<>(values));
  }
}
