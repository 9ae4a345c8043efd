package dev.gatehouse.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.CelValidationResult;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.common.values.NullValue;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelAttributePattern;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelUnknownSet;
import dev.cel.runtime.CelVariableResolver;
import dev.cel.runtime.PartialVars;
import dev.gatehouse.identity.Principal;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * A rule's CEL condition, compiled once at engine creation. Variables: {@code principal} (map:
 * subject, issuer, tenant, groups, roles, scopes, kind, key_id; absent tenant and key id are
 * {@code ""}), {@code claims} (the token's claims), {@code kind} ({@code "tool"}, {@code "resource"},
 * {@code "prompt"}, {@code "model"}), {@code server} (the owning server; the provider for a model),
 * {@code tool} (the action's federated name, federated URI or model) and {@code args} (the tool
 * call's arguments; empty for other actions). The result must be a bool.
 */
final class CelCondition {

  /** How one evaluation came out. */
  enum State { TRUE, FALSE, UNKNOWN, ERROR }

  /** An evaluation's outcome; {@code error} is set only for {@link State#ERROR}. */
  record Outcome(State state, String error) {
    static final Outcome TRUE = new Outcome(State.TRUE, "");
    static final Outcome FALSE = new Outcome(State.FALSE, "");
    static final Outcome UNKNOWN = new Outcome(State.UNKNOWN, "");
  }

  // Built on first use: it costs ~150 ms of class loading, which configs without conditions never pay.
  private static final class Env {
    static final Cel CEL = CelFactory.standardCelBuilder()
        .setOptions(CelOptions.current()
            // visible() evaluates with the arguments unknown
            .enableUnknownTracking(true)
            // claims.level > 2.5 should work whether the claim is 3 or 3.0
            .enableHeterogeneousNumericComparisons(true)
            // bounds a condition's work per request
            .comprehensionMaxIterations(10_000)
            .build())
        // has(), all(), exists(), exists_one(), map(), filter(): not on unless asked for
        .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
        .addVar("principal", MapType.create(SimpleType.STRING, SimpleType.DYN))
        .addVar("claims", MapType.create(SimpleType.STRING, SimpleType.DYN))
        .addVar("kind", SimpleType.STRING)
        .addVar("server", SimpleType.STRING)
        .addVar("tool", SimpleType.STRING)
        .addVar("args", MapType.create(SimpleType.STRING, SimpleType.DYN))
        .setResultType(SimpleType.BOOL)
        .build();
  }

  private static final CelAttributePattern ARGS = CelAttributePattern.fromQualifiedIdentifier("args");

  private final String source;
  private final CelRuntime.Program program;

  private CelCondition(String source, CelRuntime.Program program) {
    this.source = source;
    this.program = program;
  }

  /** Compiles and type-checks; a syntax or type error becomes an exception quoting CEL's message. */
  static CelCondition compile(String expression) {
    CelValidationResult result = Env.CEL.compile(expression);
    if (result.hasError()) {
      throw new IllegalArgumentException("condition: CEL error: " + result.getErrorString());
    }
    try {
      CelAbstractSyntaxTree ast = result.getAst();
      return new CelCondition(expression, Env.CEL.createProgram(ast));
    } catch (CelValidationException | CelEvaluationException e) {
      throw new IllegalArgumentException("condition: CEL error: " + e.getMessage(), e);
    }
  }

  String source() {
    return source;
  }

  /**
   * Evaluates for one principal and action. With {@code argumentsUnknown}, {@code args} is treated as
   * unknown and a result that depends on it is {@link State#UNKNOWN}. Never throws: an error is an
   * outcome, which callers treat as failing closed.
   */
  Outcome evaluate(Vars vars, boolean argumentsUnknown) {
    Object result;
    try {
      result = argumentsUnknown ? program.eval(PartialVars.of(vars, ARGS)) : program.eval(vars);
    } catch (CelEvaluationException e) {
      return new Outcome(State.ERROR, e.getMessage());
    } catch (RuntimeException e) {
      return new Outcome(State.ERROR, e.getClass().getSimpleName() + ": " + e.getMessage());
    }
    if (result instanceof Boolean b) {
      return b ? Outcome.TRUE : Outcome.FALSE;
    }
    if (result instanceof CelUnknownSet) {
      return argumentsUnknown ? Outcome.UNKNOWN : new Outcome(State.ERROR, "result depends on an unknown value");
    }
    return new Outcome(State.ERROR, "result is " + (result == null ? "null" : result.getClass().getSimpleName()) + " (expected: bool)");
  }

  /**
   * The variables of one decision, converted lazily and at most once: most conditions read only a
   * principal field or two, and converting arguments is the costly part.
   */
  static final class Vars implements CelVariableResolver {
    private final Principal principal;
    private final Action action;
    private Map<String, Object> principalMap;
    private Map<String, Object> claims;
    private Map<String, Object> args;

    Vars(Principal principal, Action action) {
      this.principal = principal;
      this.action = action;
    }

    @Override
    public Optional<Object> find(String name) {
      return Optional.ofNullable(switch (name) {
        case "principal" -> principalMap();
        case "claims" -> claims();
        case "kind" -> action.kind();
        case "server" -> server(action);
        case "tool" -> action.target();
        case "args" -> args();
        default -> null;
      });
    }

    private Map<String, Object> principalMap() {
      if (principalMap == null) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("subject", principal.subject());
        m.put("issuer", principal.issuer());
        m.put("tenant", principal.tenant().orElse(""));
        m.put("groups", List.copyOf(new TreeSet<>(principal.groups())));
        m.put("roles", List.copyOf(new TreeSet<>(principal.roles())));
        m.put("scopes", List.copyOf(new TreeSet<>(principal.scopes())));
        m.put("kind", principal.kind().name().toLowerCase(Locale.ROOT));
        m.put("key_id", principal.keyId().orElse(""));
        principalMap = m;
      }
      return principalMap;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> claims() {
      if (claims == null) {
        claims = (Map<String, Object>) fromJava(principal.claims());
      }
      return claims;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> args() {
      if (args == null) {
        args = action instanceof Action.Tool t && t.arguments().isObject() ? (Map<String, Object>) fromJson(t.arguments()) : Map.of();
      }
      return args;
    }

    private static String server(Action action) {
      return switch (action) {
        case Action.Tool t -> t.server();
        case Action.Resource r -> r.server();
        case Action.Prompt p -> p.server();
        case Action.Model m -> m.model().indexOf('/') > 0 ? m.model().substring(0, m.model().indexOf('/')) : "";
        case Action.Session s -> "";
      };
    }
  }

  // CEL's runtime knows Long, Double, String, Boolean, List, Map and its NullValue, nothing narrower.
  static Object fromJson(JsonNode n) {
    return switch (n.getNodeType()) {
      case OBJECT -> {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : n.properties()) {
          m.put(e.getKey(), fromJson(e.getValue()));
        }
        yield m;
      }
      case ARRAY -> {
        List<Object> l = new ArrayList<>(n.size());
        for (JsonNode e : n) {
          l.add(fromJson(e));
        }
        yield l;
      }
      case STRING -> n.textValue();
      case BOOLEAN -> n.booleanValue();
      case NUMBER -> n.isIntegralNumber() && n.canConvertToLong() ? (Object) n.longValue() : (Object) n.doubleValue();
      case BINARY -> n.asText();
      case NULL, MISSING -> NullValue.NULL_VALUE;
      case POJO -> String.valueOf(n);
    };
  }

  static Object fromJava(Object o) {
    if (o == null) {
      return NullValue.NULL_VALUE;
    }
    if (o instanceof String || o instanceof Boolean || o instanceof Long || o instanceof Double) {
      return o;
    }
    if (o instanceof Integer || o instanceof Short || o instanceof Byte) {
      return ((Number) o).longValue();
    }
    if (o instanceof BigInteger b) {
      return b.bitLength() < 64 ? (Object) b.longValue() : (Object) b.doubleValue();
    }
    if (o instanceof BigDecimal || o instanceof Float) {
      return ((Number) o).doubleValue();
    }
    if (o instanceof Map<?, ?> map) {
      Map<String, Object> m = new LinkedHashMap<>();
      map.forEach((k, v) -> m.put(String.valueOf(k), fromJava(v)));
      return m;
    }
    if (o instanceof Iterable<?> it) {
      List<Object> l = new ArrayList<>();
      it.forEach(e -> l.add(fromJava(e)));
      return l;
    }
    if (o instanceof JsonNode n) {
      return fromJson(n);
    }
    return String.valueOf(o);
  }
}
