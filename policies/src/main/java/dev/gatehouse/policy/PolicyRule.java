package dev.gatehouse.policy;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.math.BigDecimal;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * One entry under {@code policies:} in the config. Immutable and validated on construction: a bad
 * glob, regex or limit fails here with a message naming the rule and the field
 * ({@code policy 'eng-files': allow.tools[1]: ...}). CEL conditions are compiled, and ids checked for
 * uniqueness, by {@link PolicyEngine#create}.
 *
 * <p>Names are globs ({@code *} any run of characters, {@code ?} one character, {@code \*} a literal
 * star; case-sensitive) over the names policies see: see {@link Action}.
 *
 * @param id unique among the rules; named by every decision it makes. {@code none} and
 *     {@code default-deny} are reserved.
 * @param description free text for people; empty when not given
 * @param when which principals the rule applies to; {@link Match#any()} when not given
 * @param condition an optional CEL expression that must also be true for the rule to apply
 * @param allow what the rule allows
 * @param deny what the rule denies; a deny from any applicable rule overrides every allow
 * @param arguments tool glob → argument path → constraint, checked for every call of a matching
 *     tool by a principal the rule applies to
 * @param limits per-principal rate limits of the requests this rule allows
 */
public record PolicyRule(
    String id,
    String description,
    Match when,
    Optional<String> condition,
    Targets allow,
    Targets deny,
    Map<String, Map<String, ArgumentConstraint>> arguments,
    Limits limits) {

  /** Ids the engine uses for decisions no rule made. */
  static final String NONE = "none";

  static final String DEFAULT_DENY = "default-deny";

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");

  public PolicyRule {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException("id: '" + (id == null ? "" : id)
          + "' (expected: 1-64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit)");
    }
    if (id.equals(NONE) || id.equals(DEFAULT_DENY)) {
      throw new IllegalArgumentException("id: '" + id + "' is reserved for decisions no rule made (expected: another id)");
    }
    description = description == null ? "" : description;
    when = when == null ? Match.any() : when;
    condition = condition == null ? Optional.empty() : condition;
    if (condition.isPresent() && condition.get().isBlank()) {
      throw new IllegalArgumentException("policy '" + id + "': condition: blank (expected: a CEL expression, or no condition)");
    }
    allow = allow == null ? Targets.none() : allow;
    deny = deny == null ? Targets.none() : deny;
    arguments = arguments == null ? Map.of() : copyArguments(id, arguments);
    limits = limits == null ? Limits.none() : limits;
    if (allow.isEmpty() && deny.isEmpty() && arguments.isEmpty() && limits.isEmpty()) {
      throw new IllegalArgumentException("policy '" + id + "': has no allow, deny, arguments or limits (expected: at least one)");
    }
    // Compile globs and regexes now so a bad pattern fails at config load, naming the rule.
    try {
      CompiledRule.checkSyntax(when, allow, deny, arguments, limits);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("policy '" + id + "': " + e.getMessage(), e);
    }
  }

  /** A rule without condition, arguments or limits: the common allow/deny list for some principals. */
  public PolicyRule(String id, Match when, Targets allow, Targets deny) {
    this(id, "", when, Optional.empty(), allow, deny, Map.of(), Limits.none());
  }

  @JsonCreator
  static PolicyRule fromConfig(
      @JsonProperty("id") String id,
      @JsonProperty("description") String description,
      @JsonProperty("when") Match when,
      @JsonProperty("condition") String condition,
      @JsonProperty("allow") Targets allow,
      @JsonProperty("deny") Targets deny,
      @JsonProperty("arguments") Map<String, Map<String, ArgumentConstraint>> arguments,
      @JsonProperty("limits") Limits limits) {
    return new PolicyRule(id, description, when, Optional.ofNullable(condition), allow, deny, arguments, limits);
  }

  /** This rule with another CEL condition. */
  public PolicyRule withCondition(String condition) {
    return new PolicyRule(id, description, when, Optional.of(condition), allow, deny, arguments, limits);
  }

  /** This rule with other argument constraints. */
  public PolicyRule withArguments(Map<String, Map<String, ArgumentConstraint>> arguments) {
    return new PolicyRule(id, description, when, condition, allow, deny, arguments, limits);
  }

  /** This rule with other limits. */
  public PolicyRule withLimits(Limits limits) {
    return new PolicyRule(id, description, when, condition, allow, deny, arguments, limits);
  }

  private static Map<String, Map<String, ArgumentConstraint>> copyArguments(
      String id, Map<String, Map<String, ArgumentConstraint>> arguments) {
    Map<String, Map<String, ArgumentConstraint>> copy = new LinkedHashMap<>();
    arguments.forEach((tool, paths) -> {
      if (paths == null || paths.isEmpty()) {
        throw new IllegalArgumentException("policy '" + id + "': arguments." + tool
            + ": no argument constraints (expected: argument path -> constraint)");
      }
      Map<String, ArgumentConstraint> inner = new LinkedHashMap<>();
      paths.forEach((path, c) -> {
        if (c == null) {
          throw new IllegalArgumentException("policy '" + id + "': arguments." + tool + "." + path
              + ": missing constraint (expected: prefix, regex, enum, max_length, min, max or required)");
        }
        inner.put(path, c);
      });
      copy.put(tool, Collections.unmodifiableMap(inner));
    });
    return Collections.unmodifiableMap(copy);
  }

  /**
   * Which principals a rule applies to. Each list holds globs; an empty list matches anyone. Within a
   * list any pattern may match (for sets such as groups: any pattern against any member); across
   * fields all must match.
   *
   * @param issuers the principal's issuer
   * @param subjects the principal's subject
   * @param tenants the principal's tenant; a principal without one never matches a non-empty list
   * @param groups the principal's groups
   * @param roles the principal's roles
   * @param scopes the principal's OAuth scopes
   * @param claims claim path ({@code realm_access.roles}) → accepted globs; the claim must be present
   *     and be a string, number or boolean matching one of them, or an array with an element that does
   */
  public record Match(
      @JsonProperty("issuers") List<String> issuers,
      @JsonProperty("subjects") List<String> subjects,
      @JsonProperty("tenants") List<String> tenants,
      @JsonProperty("groups") List<String> groups,
      @JsonProperty("roles") List<String> roles,
      @JsonProperty("scopes") List<String> scopes,
      @JsonProperty("claims") Map<String, List<String>> claims) {

    private static final Match ANY = new Match(null, null, null, null, null, null, null);

    public Match {
      issuers = issuers == null ? List.of() : List.copyOf(issuers);
      subjects = subjects == null ? List.of() : List.copyOf(subjects);
      tenants = tenants == null ? List.of() : List.copyOf(tenants);
      groups = groups == null ? List.of() : List.copyOf(groups);
      roles = roles == null ? List.of() : List.copyOf(roles);
      scopes = scopes == null ? List.of() : List.copyOf(scopes);
      if (claims == null) {
        claims = Map.of();
      } else {
        Map<String, List<String>> copy = new LinkedHashMap<>();
        claims.forEach((path, accepted) -> {
          if (path.isBlank() || path.startsWith(".") || path.endsWith(".") || path.contains("..")) {
            throw new IllegalArgumentException("claims: '" + path + "' (expected: a claim path such as realm_access.roles)");
          }
          if (accepted == null || accepted.isEmpty()) {
            throw new IllegalArgumentException("claims." + path + ": no accepted values (expected: a list of globs)");
          }
          copy.put(path, List.copyOf(accepted));
        });
        claims = Collections.unmodifiableMap(copy);
      }
    }

    /** Matches every principal. */
    public static Match any() {
      return ANY;
    }

    /** Principals in any of these groups. */
    public static Match groups(String... groups) {
      return new Match(null, null, null, List.of(groups), null, null, null);
    }

    /** Whether this matches every principal. */
    public boolean isAny() {
      return issuers.isEmpty() && subjects.isEmpty() && tenants.isEmpty() && groups.isEmpty() && roles.isEmpty()
          && scopes.isEmpty() && claims.isEmpty();
    }
  }

  /**
   * Globs of what a rule allows or denies. A server pattern covers every tool, resource and prompt of
   * the servers it matches; models are matched only by {@code models}.
   *
   * @param servers server names
   * @param tools federated tool names, {@code <server>__<tool>}
   * @param resources federated resource URIs, {@code <server>+<uri>}
   * @param prompts federated prompt names, {@code <server>__<prompt>}
   * @param models {@code provider/model}
   */
  public record Targets(
      @JsonProperty("servers") List<String> servers,
      @JsonProperty("tools") List<String> tools,
      @JsonProperty("resources") List<String> resources,
      @JsonProperty("prompts") List<String> prompts,
      @JsonProperty("models") List<String> models) {

    private static final Targets NONE = new Targets(null, null, null, null, null);

    public Targets {
      servers = servers == null ? List.of() : List.copyOf(servers);
      tools = tools == null ? List.of() : List.copyOf(tools);
      resources = resources == null ? List.of() : List.copyOf(resources);
      prompts = prompts == null ? List.of() : List.copyOf(prompts);
      models = models == null ? List.of() : List.copyOf(models);
    }

    /** Nothing. */
    public static Targets none() {
      return NONE;
    }

    /** These tools only. */
    public static Targets tools(String... tools) {
      return new Targets(null, List.of(tools), null, null, null);
    }

    /** Everything of these servers. */
    public static Targets servers(String... servers) {
      return new Targets(List.of(servers), null, null, null, null);
    }

    /** Whether no pattern is given, i.e. this covers nothing. */
    public boolean isEmpty() {
      return servers.isEmpty() && tools.isEmpty() && resources.isEmpty() && prompts.isEmpty() && models.isEmpty();
    }
  }

  /**
   * Checks on one argument of a tool call. Absent (or JSON {@code null}) arguments pass every check
   * but {@code required}. When the path reaches an array, each element is checked.
   *
   * <p>{@code prefix} compares the value after lexical path normalisation: {@code \} becomes
   * {@code /}, percent-encoded {@code . / \} are decoded, and {@code .}, {@code ..} and empty segments
   * are resolved, so {@code /data/../etc/passwd} is checked as {@code /etc/passwd}. A prefix ending in
   * {@code /} also accepts the directory itself ({@code /data/} accepts {@code /data}). Symbolic links
   * cannot be seen from here: the upstream must confine itself too.
   *
   * @param prefix the (normalised) string value must start with this
   * @param regex the string value must match this RE2 regular expression in full (anchored; linear
   *     time, so a hostile argument cannot make matching slow)
   * @param allowedValues ({@code enum}) the value, as text, must be one of these
   * @param maxLength the string value may have at most this many characters (Unicode code points)
   * @param min the numeric value must be at least this
   * @param max the numeric value must be at most this
   * @param required the argument must be present and not {@code null}
   */
  public record ArgumentConstraint(
      Optional<String> prefix,
      Optional<String> regex,
      List<String> allowedValues,
      OptionalInt maxLength,
      Optional<BigDecimal> min,
      Optional<BigDecimal> max,
      boolean required) {

    public ArgumentConstraint {
      prefix = prefix == null ? Optional.empty() : prefix;
      regex = regex == null ? Optional.empty() : regex;
      allowedValues = allowedValues == null ? List.of() : List.copyOf(allowedValues);
      maxLength = maxLength == null ? OptionalInt.empty() : maxLength;
      min = min == null ? Optional.empty() : min;
      max = max == null ? Optional.empty() : max;
      if (prefix.isPresent() && prefix.get().isEmpty()) {
        throw new IllegalArgumentException("prefix: empty (expected: a non-empty prefix such as /data/)");
      }
      if (regex.isPresent() && regex.get().isEmpty()) {
        throw new IllegalArgumentException("regex: empty (expected: a regular expression)");
      }
      if (maxLength.isPresent() && maxLength.getAsInt() <= 0) {
        throw new IllegalArgumentException("max_length: " + maxLength.getAsInt() + " (expected: > 0)");
      }
      if (min.isPresent() && max.isPresent() && min.get().compareTo(max.get()) > 0) {
        throw new IllegalArgumentException("min: " + min.get() + " is above max " + max.get() + " (expected: min <= max)");
      }
      boolean textual = prefix.isPresent() || regex.isPresent() || maxLength.isPresent();
      boolean numeric = min.isPresent() || max.isPresent();
      if (textual && numeric) {
        throw new IllegalArgumentException(
            "min/max cannot be combined with prefix, regex or max_length (expected: string checks or numeric checks)");
      }
      if (!textual && !numeric && allowedValues.isEmpty() && !required) {
        throw new IllegalArgumentException("no checks (expected: at least one of prefix, regex, enum, max_length, min, max, required)");
      }
    }

    @JsonCreator
    static ArgumentConstraint fromConfig(
        @JsonProperty("prefix") String prefix,
        @JsonProperty("regex") String regex,
        @JsonProperty("enum") List<String> allowedValues,
        @JsonProperty("max_length") Integer maxLength,
        @JsonProperty("min") BigDecimal min,
        @JsonProperty("max") BigDecimal max,
        @JsonProperty("required") Boolean required) {
      return new ArgumentConstraint(
          Optional.ofNullable(prefix),
          Optional.ofNullable(regex),
          allowedValues,
          maxLength == null ? OptionalInt.empty() : OptionalInt.of(maxLength),
          Optional.ofNullable(min),
          Optional.ofNullable(max),
          required != null && required);
    }

    /** A string that must start with {@code prefix} after path normalisation. */
    public static ArgumentConstraint startingWith(String prefix) {
      return fromConfig(prefix, null, null, null, null, null, null);
    }
  }

  /**
   * Rate limits and budgets, counted per rule and per {@link Scope} (by default per principal, issuer +
   * subject). Token buckets: the capacity is the per-minute value and tokens refill continuously, so a
   * burst of a full minute's worth is allowed and then one more request every {@code 60s / value}.
   *
   * @param requestsPerMinute every request this rule allows (or, for a rule that allows nothing
   *     itself, every allowed request of the principals it applies to)
   * @param toolsPerMinute tool glob → calls per minute of the tools it matches, on top of
   *     {@code requestsPerMinute}
   * @param budgetUsdPerDay model spend per scope and UTC day; kept for the gateway, which sees costs
   * @param budgetFallbackModel the model a call is routed to once the day's budget is spent
   * @param per whom the counts are kept for: the principal, the API key, the tenant or the group
   * @param tokensPerMinute model tokens (input + output) per minute per scope; the gateway reserves a
   *     request's estimate before the call and settles it from the usage after
   * @param budgetUsdPerMonth model spend per scope and UTC calendar month
   */
  public record Limits(OptionalInt requestsPerMinute, Map<String, Integer> toolsPerMinute, Optional<BigDecimal> budgetUsdPerDay,
      Optional<String> budgetFallbackModel, Scope per, OptionalInt tokensPerMinute, Optional<BigDecimal> budgetUsdPerMonth) {

    private static final Limits NONE = new Limits(OptionalInt.empty(), Map.of(), Optional.empty(), Optional.empty());

    /** As before budget fallbacks existed: no fallback model. */
    public Limits(OptionalInt requestsPerMinute, Map<String, Integer> toolsPerMinute, Optional<BigDecimal> budgetUsdPerDay) {
      this(requestsPerMinute, toolsPerMinute, budgetUsdPerDay, Optional.empty());
    }

    /** Per principal, without token limits or monthly budgets. */
    public Limits(OptionalInt requestsPerMinute, Map<String, Integer> toolsPerMinute, Optional<BigDecimal> budgetUsdPerDay,
        Optional<String> budgetFallbackModel) {
      this(requestsPerMinute, toolsPerMinute, budgetUsdPerDay, budgetFallbackModel, Scope.PRINCIPAL, OptionalInt.empty(), Optional.empty());
    }

    public Limits {
      requestsPerMinute = requestsPerMinute == null ? OptionalInt.empty() : requestsPerMinute;
      if (requestsPerMinute.isPresent() && requestsPerMinute.getAsInt() <= 0) {
        throw new IllegalArgumentException("requests_per_minute: " + requestsPerMinute.getAsInt() + " (expected: > 0)");
      }
      if (toolsPerMinute == null) {
        toolsPerMinute = Map.of();
      } else {
        Map<String, Integer> copy = new LinkedHashMap<>();
        toolsPerMinute.forEach((tool, n) -> {
          if (n == null || n <= 0) {
            throw new IllegalArgumentException("tools_per_minute." + tool + ": " + n + " (expected: > 0)");
          }
          copy.put(tool, n);
        });
        toolsPerMinute = Collections.unmodifiableMap(copy);
      }
      budgetUsdPerDay = budgetUsdPerDay == null ? Optional.empty() : budgetUsdPerDay;
      if (budgetUsdPerDay.isPresent() && budgetUsdPerDay.get().signum() < 0) {
        throw new IllegalArgumentException("budget_usd_per_day: " + budgetUsdPerDay.get() + " (expected: >= 0)");
      }
      budgetFallbackModel = budgetFallbackModel == null ? Optional.empty() : budgetFallbackModel.filter(m -> !m.isBlank());
      if (budgetFallbackModel.isPresent() && budgetUsdPerDay.isEmpty()) {
        throw new IllegalArgumentException("budget_fallback_model: set without budget_usd_per_day (expected: both)");
      }
      per = per == null ? Scope.PRINCIPAL : per;
      tokensPerMinute = tokensPerMinute == null ? OptionalInt.empty() : tokensPerMinute;
      if (tokensPerMinute.isPresent() && tokensPerMinute.getAsInt() <= 0) {
        throw new IllegalArgumentException("tokens_per_minute: " + tokensPerMinute.getAsInt() + " (expected: > 0)");
      }
      budgetUsdPerMonth = budgetUsdPerMonth == null ? Optional.empty() : budgetUsdPerMonth;
      if (budgetUsdPerMonth.isPresent() && budgetUsdPerMonth.get().signum() < 0) {
        throw new IllegalArgumentException("budget_usd_per_month: " + budgetUsdPerMonth.get() + " (expected: >= 0)");
      }
    }

    @JsonCreator
    static Limits fromConfig(
        @JsonProperty("requests_per_minute") Integer requestsPerMinute,
        @JsonProperty("tools_per_minute") Map<String, Integer> toolsPerMinute,
        @JsonProperty("budget_usd_per_day") BigDecimal budgetUsdPerDay,
        @JsonProperty("budget_fallback_model") String budgetFallbackModel,
        @JsonProperty("per") Scope per,
        @JsonProperty("tokens_per_minute") Integer tokensPerMinute,
        @JsonProperty("budget_usd_per_month") BigDecimal budgetUsdPerMonth) {
      return new Limits(
          requestsPerMinute == null ? OptionalInt.empty() : OptionalInt.of(requestsPerMinute),
          toolsPerMinute,
          Optional.ofNullable(budgetUsdPerDay),
          Optional.ofNullable(budgetFallbackModel),
          per,
          tokensPerMinute == null ? OptionalInt.empty() : OptionalInt.of(tokensPerMinute),
          Optional.ofNullable(budgetUsdPerMonth));
    }

    /** These limits counted per {@code scope}. */
    public Limits per(Scope scope) {
      return new Limits(requestsPerMinute, toolsPerMinute, budgetUsdPerDay, budgetFallbackModel, scope, tokensPerMinute, budgetUsdPerMonth);
    }

    /** These limits with a token limit. */
    public Limits withTokensPerMinute(int n) {
      return new Limits(requestsPerMinute, toolsPerMinute, budgetUsdPerDay, budgetFallbackModel, per, OptionalInt.of(n), budgetUsdPerMonth);
    }

    /** No limits. */
    public static Limits none() {
      return NONE;
    }

    /** At most {@code n} requests per minute per principal. */
    public static Limits requestsPerMinute(int n) {
      return new Limits(OptionalInt.of(n), Map.of(), Optional.empty());
    }

    /** Whether no limit (nor budget) is given. */
    public boolean isEmpty() {
      return requestsPerMinute.isEmpty() && toolsPerMinute.isEmpty() && budgetUsdPerDay.isEmpty() && tokensPerMinute.isEmpty()
          && budgetUsdPerMonth.isEmpty();
    }
  }

  /**
   * Whom a rule's limits and budgets are counted for. A caller without what the scope names (a token
   * caller under {@code key}, a caller without a tenant under {@code tenant}, without a group under
   * {@code group}) is counted as itself, per principal.
   */
  public enum Scope {
    /** Each principal (issuer + subject) alone: the default. */
    PRINCIPAL,
    /** Each API key alone, even when several keys share a subject. */
    KEY,
    /** Everyone of a tenant together. */
    TENANT,
    /** Everyone of a group together: the caller's groups that the rule's {@code when.groups} names (all its groups if it names none). */
    GROUP;

    @JsonCreator
    public static Scope parse(String s) {
      for (Scope v : values()) {
        if (v.name().equalsIgnoreCase(s)) {
          return v;
        }
      }
      throw new IllegalArgumentException("per: '" + s + "' (expected: principal, key, tenant or group)");
    }

    public String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
