package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.annotation.JsonTypeName;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.exc.InvalidNullException;
import com.fasterxml.jackson.databind.exc.InvalidTypeIdException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.lang.reflect.RecordComponent;
import java.net.URI;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a Gatehouse config file (YAML, or JSON for files named {@code *.json}) into a
 * {@link GatewayConfig}. Every failure is a {@link ConfigException} naming the key path and line.
 *
 * <p>Two passes: the file is first read into a tree, remembering where each value sits and
 * resolving {@code ${env:NAME}} / {@code ${env:NAME:-default}} in string values ({@code $${} is a
 * literal {@code ${}); the tree is then bound to the config records with unknown keys rejected. Doing
 * the interpolation on the tree keeps positions exact and lets errors about a value that came from
 * the environment name the variable instead of quoting its value.
 *
 * <p>Durations are written {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h} or ISO-8601
 * ({@code PT30S}); a bare number is rejected because its unit would be a guess.
 */
public final class ConfigLoader {

  private static final ObjectMapper MAPPER = mapper();
  private static final YAMLFactory YAML =
      YAMLFactory.builder()
          // YAML 1.2 booleans: only true/false. Otherwise "args: [-o, yes]" would pass "true" and an
          // env value of "off" would become "false".
          .enable(YAMLParser.Feature.PARSE_BOOLEAN_LIKE_WORDS_AS_STRINGS)
          // "key:" with nothing after it is null, as YAML says; a quoted '' stays an empty string.
          // (The builder does not start from the factory's defaults, so this is spelt out.)
          .enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL)
          .build();
  private static final JsonFactory JSON = new JsonFactory();

  private static final Pattern SHORT_DURATION = Pattern.compile("([0-9]{1,9})(ms|s|m|h)");
  private static final Pattern VARIABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final String EXPECTED_TOP = "(expected: a map with the sections server, upstreams, identity, policies, access, audit, providers, aliases, prices, agent_mode, logging, limits, integrity, tracing, console)";
  private static final String DURATION_FORMS = "e.g. 500ms, 30s, 2m, 1h, or ISO-8601 such as PT30S";

  private final Function<String, String> env;

  /** A loader resolving {@code ${env:…}} from the process environment. */
  public ConfigLoader() {
    this(System::getenv);
  }

  /**
   * A loader resolving {@code ${env:NAME}} with {@code env}, which returns null for a variable that is
   * not set (as {@link System#getenv(String)} does).
   */
  public ConfigLoader(Function<String, String> env) {
    this.env = Objects.requireNonNull(env, "env");
  }

  /** Reads and validates {@code file}. */
  public GatewayConfig load(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(file.toString(), "file not found");
    } catch (IOException e) {
      throw new ConfigException(file.toString(), "cannot read the file (" + e.getClass().getSimpleName() + ")");
    }
    return parse(bytes, file.toString());
  }

  /**
   * Parses config text; {@code sourceName} is used in messages and, when it ends in {@code .json},
   * selects the JSON parser (YAML would also read most JSON, but not tab-indented JSON).
   */
  public GatewayConfig parse(String text, String sourceName) {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(sourceName, "sourceName");
    String content = text.startsWith("\uFEFF") ? text.substring(1) : text;
    boolean json = sourceName.toLowerCase(Locale.ROOT).endsWith(".json");
    Document doc = new Document(sourceName, json);
    JsonNode tree;
    try {
      tree = readTree(content, doc);
    } catch (ConfigException e) {
      // JSON is YAML, except that YAML forbids tabs for indentation: a tab-indented JSON file in a
      // .yaml file fails as YAML, so it gets a second chance as JSON. The YAML error stands if that
      // fails too.
      if (json || !doc.syntaxError || !content.stripLeading().startsWith("{")) {
        throw e;
      }
      doc = new Document(sourceName, true);
      try {
        tree = readTree(content, doc);
      } catch (ConfigException ignored) {
        throw e;
      }
    }
    try {
      return MAPPER.readValue(MAPPER.treeAsTokens(tree), GatewayConfig.class);
    } catch (JsonMappingException e) {
      throw translate(e, doc);
    } catch (IOException e) {
      // Not expected from a tree; say nothing that could quote a value.
      throw new ConfigException(sourceName, "cannot read the config (" + e.getClass().getSimpleName() + ")");
    }
  }

  /** The bytes of a config file, which must be UTF-8. */
  GatewayConfig parse(byte[] bytes, String sourceName) {
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      throw new ConfigException(sourceName, "the file is not UTF-8 text");
    }
    return parse(text, sourceName);
  }

  /** Parses {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h} or ISO-8601; empty if it is none of these. */
  static Optional<Duration> parseDuration(String text) {
    Matcher m = SHORT_DURATION.matcher(text);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return Optional.of(
          switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
          });
    }
    if (text.startsWith("P") || text.startsWith("p") || text.startsWith("-P") || text.startsWith("-p")) {
      try {
        return Optional.of(Duration.parse(text));
      } catch (DateTimeParseException e) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  // ---- pass 1: text to a located, interpolated tree ----

  private JsonNode readTree(String text, Document doc) {
    boolean json = doc.json;
    try (JsonParser p = (json ? JSON : YAML).createParser(text)) {
      JsonToken first = p.nextToken();
      if (first == null || first == JsonToken.VALUE_NULL) {
        throw new ConfigException(doc.source, "the file is empty " + EXPECTED_TOP);
      }
      if (first != JsonToken.START_OBJECT) {
        throw doc.error("", p.currentTokenLocation(), "expected a map with the sections server, upstreams, identity, policies, access, audit, providers, aliases, prices, agent_mode, logging, limits, got " + describeToken(first));
      }
      JsonNode root = read(p, "", null, doc);
      if (p.nextToken() != null) {
        throw new ConfigException(
            doc.source, null, p.currentTokenLocation().getLineNr(), p.currentTokenLocation().getColumnNr(),
            json ? "unexpected content after the top-level object" : "more than one YAML document (expected: one)");
      }
      return root;
    } catch (StreamReadException e) {
      throw syntaxError(e, doc, json, text);
    } catch (IOException e) {
      throw new ConfigException(doc.source, "cannot read the config (" + e.getClass().getSimpleName() + ")");
    }
  }

  private JsonNode read(JsonParser p, String path, JsonLocation keyLocation, Document doc) throws IOException {
    JsonLocation here = p.currentTokenLocation();
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    JsonNode node =
        switch (p.currentToken()) {
          case START_OBJECT -> {
            ObjectNode object = nodes.objectNode();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String key = p.currentName();
              JsonLocation at = p.currentTokenLocation();
              String childPath = child(path, key);
              if (object.has(key)) {
                throw doc.error(childPath, at, "duplicate key '" + key + "'");
              }
              p.nextToken();
              object.set(key, read(p, childPath, at, doc));
            }
            yield object;
          }
          case START_ARRAY -> {
            ArrayNode array = nodes.arrayNode();
            while (p.nextToken() != JsonToken.END_ARRAY) {
              array.add(read(p, path + "[" + array.size() + "]", null, doc));
            }
            yield array;
          }
          case VALUE_STRING -> nodes.textNode(interpolate(p.getText(), path, here, doc));
          case VALUE_NUMBER_INT ->
              switch (p.getNumberType()) {
                case INT -> nodes.numberNode(p.getIntValue());
                case LONG -> nodes.numberNode(p.getLongValue());
                default -> nodes.numberNode(p.getBigIntegerValue());
              };
          case VALUE_NUMBER_FLOAT -> nodes.numberNode(p.getDecimalValue());
          case VALUE_TRUE -> nodes.booleanNode(true);
          case VALUE_FALSE -> nodes.booleanNode(false);
          case VALUE_NULL -> nodes.nullNode();
          default -> throw doc.error(path, here, "unsupported value (expected: a map, list, string, number or boolean)");
        };
    doc.spots.put(path, new Spot(node, keyLocation, here));
    return node;
  }

  /** Resolves {@code ${env:NAME}}, {@code ${env:NAME:-default}} and the {@code $${} escape. */
  private String interpolate(String raw, String path, JsonLocation at, Document doc) {
    if (raw.indexOf('$') < 0) {
      return raw;
    }
    StringBuilder out = new StringBuilder(raw.length());
    boolean fromEnv = false;
    int i = 0;
    while (i < raw.length()) {
      if (raw.startsWith("$${", i)) {
        out.append("${");
        i += 3;
      } else if (raw.startsWith("${", i)) {
        int end = raw.indexOf('}', i + 2);
        if (end < 0) {
          throw doc.error(path, at, "unterminated '${' (expected: ${env:NAME} or ${env:NAME:-default}; write $${ for a literal ${)");
        }
        String expression = raw.substring(i + 2, end);
        if (!expression.startsWith("env:")) {
          throw doc.error(
              path, at, "unsupported placeholder '${" + expression + "}' (expected: ${env:NAME} or ${env:NAME:-default}; write $${ for a literal ${)");
        }
        String spec = expression.substring(4);
        int dash = spec.indexOf(":-");
        String name = dash < 0 ? spec : spec.substring(0, dash);
        if (!VARIABLE.matcher(name).matches()) {
          throw doc.error(path, at, "'${" + expression + "}': '" + name + "' is not a variable name (expected: letters, digits and '_')");
        }
        String value = env.apply(name);
        // As in the shell, ':-' falls back for a variable that is unset or empty.
        if (dash >= 0 && (value == null || value.isEmpty())) {
          out.append(spec, dash + 2, spec.length());
        } else if (value == null) {
          throw doc.error(
              path, at, "environment variable '" + name + "' is not set (give a default with ${env:" + name + ":-value})");
        } else {
          doc.secret(value, name);
          out.append(value);
          fromEnv = true;
        }
        i = end + 1;
      } else {
        out.append(raw.charAt(i++));
      }
    }
    if (fromEnv) {
      doc.templates.put(path, raw);
    }
    return out.toString();
  }

  private static ConfigException syntaxError(StreamReadException e, Document doc, boolean json, String text) {
    doc.syntaxError = true;
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblemMark() != null) {
        int line = m.getProblemMark().getLine() + 1;
        if ("mapping values are not allowed here".equals(m.getProblem())) {
          int keyless = keylessLineAbove(text, line);
          if (keyless > 0) {
            return new ConfigException(doc.source, null, keyless, indentOf(lineAt(text, keyless)) + 1,
                "YAML syntax: no ':' after the key on this line (expected 'key: value'; without it the lines below "
                    + "are read as the rest of its value)");
          }
        }
        String context = m.getContext() == null ? "" : " (" + m.getContext() + ")";
        return new ConfigException(
            doc.source, null, line, m.getProblemMark().getColumn() + 1,
            "YAML syntax: " + m.getProblem() + context);
      }
    }
    JsonLocation at = e.getLocation();
    String message = firstLine(e.getOriginalMessage());
    return new ConfigException(
        doc.source, null, at == null ? 0 : at.getLineNr(), at == null ? 0 : at.getColumnNr(),
        (json ? "JSON syntax: " : "YAML syntax: ") + message);
  }

  /**
   * When a ':' on {@code line} is refused because the lines above it were read as one multi-line value,
   * the real mistake is a key above without its ':': the topmost line, at the same indentation or
   * deeper, with no ':' at all. 0 when there is none.
   */
  static int keylessLineAbove(String text, int line) {
    String[] lines = text.split("\n", -1);
    if (line < 2 || line > lines.length) {
      return 0;
    }
    int indent = indentOf(lines[line - 1]);
    int found = 0;
    for (int i = line - 2; i >= 0; i--) {
      String l = lines[i];
      if (l.isBlank() || l.strip().startsWith("#")) {
        continue;
      }
      if (indentOf(l) < indent || l.indexOf(':') >= 0 || l.strip().startsWith("-")) {
        break;
      }
      found = i + 1;
    }
    return found;
  }

  private static String lineAt(String text, int line) {
    return text.split("\n", -1)[line - 1];
  }

  private static int indentOf(String l) {
    int n = 0;
    while (n < l.length() && l.charAt(n) == ' ') {
      n++;
    }
    return n;
  }

  // ---- pass 2: binding errors to messages ----

  private static ConfigException translate(JsonMappingException e, Document doc) {
    String path = path(e.getPath());
    if (e instanceof UnrecognizedPropertyException u) {
      String parent = parent(path);
      Set<String> known = new LinkedHashSet<>(declaredKeys(u.getReferringClass()));
      Collection<Object> ids = u.getKnownPropertyIds();
      if (ids != null) {
        known.retainAll(ids.stream().map(String::valueOf).toList());
        ids.forEach(id -> known.add(String.valueOf(id)));
      }
      typeProperty(u.getReferringClass()).ifPresent(known::add);
      return doc.error(
          parent, doc.keyLocation(path), "unknown key '" + u.getPropertyName() + "' (expected one of: " + String.join(", ", known) + ")");
    }
    if (e instanceof InvalidTypeIdException t) {
      Class<?> base = t.getBaseType() == null ? Object.class : t.getBaseType().getRawClass();
      String property = typeProperty(base).orElse("type");
      String expected = "(expected one of: " + String.join(", ", typeIds(base)) + ")";
      JsonNode node = doc.node(path);
      if (node != null && !node.isObject()) {
        return doc.error(path, doc.where(path), "expected a map with '" + property + "', got " + doc.describe(path) + " " + expected);
      }
      if (t.getTypeId() == null || node == null || !node.has(property)) {
        return doc.error(path, doc.where(path), "missing '" + property + "' " + expected);
      }
      String propertyPath = child(path, property);
      return doc.error(propertyPath, doc.where(propertyPath), "unknown " + property + " " + doc.describe(propertyPath) + " " + expected);
    }
    if (e instanceof ValueInstantiationException v) {
      // Jackson reports unknown keys only after the record was built, but a misspelt key is the
      // likely reason a required one is missing, so it is reported first.
      Optional<ConfigException> unknown = unknownKey(path, v.getType() == null ? null : v.getType().getRawClass(), doc);
      if (unknown.isPresent()) {
        return unknown.get();
      }
      Throwable cause = e.getCause();
      if (cause instanceof IllegalArgumentException && cause.getMessage() != null) {
        return fieldError(path, cause.getMessage(), doc);
      }
      return doc.error(path, doc.where(path), "invalid settings (" + (cause == null ? "unknown reason" : cause.getClass().getSimpleName()) + ")");
    }
    if (e instanceof PlainMessage) {
      return doc.error(path, doc.where(path), e.getOriginalMessage());
    }
    if (e instanceof InvalidNullException) {
      return doc.error(path, doc.where(path), "no value (expected: a value, or remove the entry)");
    }
    if (e instanceof MismatchedInputException m) {
      return doc.error(path, doc.where(path), "expected " + describe(m.getTargetType()) + ", got " + doc.describe(path));
    }
    for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
      if (c instanceof InputCoercionException ic) {
        return doc.error(path, doc.where(path), doc.describe(path) + " is out of range (expected: " + describe(ic.getTargetType()) + ")");
      }
    }
    // A Jackson message may quote the value; leave it out when the value came from the environment.
    String detail = doc.templates.containsKey(path) ? "invalid value from the environment" : "invalid value (" + firstLine(e.getOriginalMessage()) + ")";
    return doc.error(path, doc.where(path), detail);
  }

  /**
   * Config records report problems as {@code "field: problem"} (or {@code "a.b: problem"}). When that
   * field exists in the file, point at it and drop the prefix; otherwise report at the record.
   */
  private static ConfigException fieldError(String path, String message, Document doc) {
    // Keys may themselves contain ": ", so every split is tried, shortest prefix first.
    for (int colon = message.indexOf(": "); colon > 0; colon = message.indexOf(": ", colon + 1)) {
      String field = message.substring(0, colon);
      for (String base = path; base != null; base = base.isEmpty() ? null : parent(base)) {
        String candidate = join(base, field);
        if (doc.spots.containsKey(candidate)) {
          return doc.error(candidate, doc.where(candidate), message.substring(colon + 2));
        }
      }
    }
    return doc.error(path, doc.where(path), message);
  }

  /** The first key of the map at {@code path} that {@code type} does not declare, as an error. */
  private static Optional<ConfigException> unknownKey(String path, Class<?> type, Document doc) {
    JsonNode node = doc.node(path);
    List<String> declared = declaredKeys(type);
    if (node == null || !node.isObject() || declared.isEmpty()) {
      return Optional.empty();
    }
    Set<String> known = new LinkedHashSet<>(declared);
    typeProperty(type).ifPresent(known::add);
    for (String key : (Iterable<String>) node::fieldNames) {
      if (!known.contains(key)) {
        String keyPath = child(path, key);
        return Optional.of(
            doc.error(path, doc.keyLocation(keyPath), "unknown key '" + key + "' (expected one of: " + String.join(", ", known) + ")"));
      }
    }
    return Optional.empty();
  }

  /**
   * The keys of a config type in declaration order (Jackson reports them in hash order): the
   * parameters of its {@code @JsonCreator}, else of a record's canonical constructor.
   */
  private static List<String> declaredKeys(Class<?> type) {
    if (type == null) {
      return List.of();
    }
    Executable creator = null;
    for (Method m : type.getDeclaredMethods()) {
      if (m.isAnnotationPresent(JsonCreator.class)) {
        creator = m;
      }
    }
    for (Constructor<?> c : type.getDeclaredConstructors()) {
      if (c.isAnnotationPresent(JsonCreator.class)) {
        creator = c;
      }
    }
    if (creator == null && type.isRecord()) {
      Class<?>[] types = Arrays.stream(type.getRecordComponents()).map(RecordComponent::getType).toArray(Class<?>[]::new);
      try {
        creator = type.getDeclaredConstructor(types);
      } catch (NoSuchMethodException e) {
        return List.of();
      }
    }
    if (creator == null) {
      return List.of();
    }
    List<String> keys = new ArrayList<>();
    for (Parameter parameter : creator.getParameters()) {
      JsonProperty property = parameter.getAnnotation(JsonProperty.class);
      keys.add(property != null && !property.value().isEmpty() ? property.value() : parameter.getName());
    }
    return keys;
  }

  private static Optional<String> typeProperty(Class<?> type) {
    if (type == null) {
      return Optional.empty();
    }
    JsonTypeInfo info = type.getAnnotation(JsonTypeInfo.class);
    if (info != null) {
      return Optional.of(info.property().isEmpty() ? info.use().getDefaultPropertyName() : info.property());
    }
    for (Class<?> parent : type.getInterfaces()) {
      Optional<String> found = typeProperty(parent);
      if (found.isPresent()) {
        return found;
      }
    }
    return typeProperty(type.getSuperclass());
  }

  private static List<String> typeIds(Class<?> base) {
    List<String> ids = new ArrayList<>();
    JsonSubTypes subtypes = base.getAnnotation(JsonSubTypes.class);
    if (subtypes != null) {
      for (JsonSubTypes.Type t : subtypes.value()) {
        JsonTypeName named = t.value().getAnnotation(JsonTypeName.class);
        ids.add(!t.name().isEmpty() ? t.name() : named != null ? named.value() : t.value().getSimpleName());
      }
    }
    return ids;
  }

  private static String describe(Class<?> type) {
    if (type == null) {
      return "another kind of value";
    }
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class
        || type == short.class || type == Short.class || type == java.math.BigInteger.class) {
      return "a whole number";
    }
    if (Number.class.isAssignableFrom(type) || type == double.class || type == float.class) {
      return "a number";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    }
    if (CharSequence.class.isAssignableFrom(type)) {
      return "a string";
    }
    if (Collection.class.isAssignableFrom(type) || type.isArray()) {
      return "a list";
    }
    if (type == Duration.class) {
      return "a duration (" + DURATION_FORMS + ")";
    }
    if (type == URI.class || type == URL.class) {
      return "a URL";
    }
    return "a map";
  }

  private static String describeToken(JsonToken t) {
    return switch (t) {
      case START_ARRAY -> "a list";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      default -> "not a map";
    };
  }

  private static String path(List<JsonMappingException.Reference> references) {
    String path = "";
    for (JsonMappingException.Reference ref : references) {
      if (ref.getFieldName() != null) {
        path = child(path, ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        path = path + "[" + ref.getIndex() + "]";
      }
    }
    return path;
  }

  private static String child(String path, String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  private static String join(String base, String relative) {
    return base.isEmpty() ? relative : relative.startsWith("[") ? base + relative : base + "." + relative;
  }

  private static String parent(String path) {
    int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    return cut < 0 ? "" : path.substring(0, cut);
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unknown problem";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private static ObjectMapper mapper() {
    SimpleModule durations = new SimpleModule("gatehouse-config").addDeserializer(Duration.class, new DurationDeserializer());
    return JsonMapper.builder()
        .addModule(durations)
        // Record accessors returning lists and maps must not become a second way to set them.
        .disable(MapperFeature.USE_GETTERS_AS_SETTERS)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
        // An empty entry in a list or map ("- " or "KEY:") is a mistake, not a null to carry around.
        .withConfigOverride(Map.class, o -> o.setSetterInfo(JsonSetter.Value.forContentNulls(Nulls.FAIL)))
        .withConfigOverride(List.class, o -> o.setSetterInfo(JsonSetter.Value.forContentNulls(Nulls.FAIL)))
        .build();
  }

  /** Where a value sits: the key's position (for entries of a map) and the value's own. */
  private record Spot(JsonNode node, JsonLocation key, JsonLocation value) {}

  /** What pass 1 learned about one file, for messages. */
  private static final class Document {
    final String source;
    final boolean json;
    boolean syntaxError;
    final Map<String, Spot> spots = new HashMap<>();
    // path -> the raw text of a value that took something from the environment
    final Map<String, String> templates = new HashMap<>();
    // value taken from the environment -> the variable's name; never shown, only masked
    private final Map<String, String> secrets = new LinkedHashMap<>();

    Document(String source, boolean json) {
      this.source = source;
      this.json = json;
    }

    void secret(String value, String name) {
      if (!value.isEmpty()) {
        secrets.putIfAbsent(value, name);
      }
    }

    JsonNode node(String path) {
      Spot spot = spots.get(path);
      return spot == null ? null : spot.node();
    }

    /** A scalar's own position; for a map, list or empty value the position of its key. */
    JsonLocation where(String path) {
      for (String p = path; ; p = parent(p)) {
        Spot spot = spots.get(p);
        if (spot != null) {
          boolean scalar = spot.node().isValueNode() && !spot.node().isNull();
          return scalar || spot.key() == null ? spot.value() : spot.key();
        }
        if (p.isEmpty()) {
          return null;
        }
      }
    }

    JsonLocation keyLocation(String path) {
      Spot spot = spots.get(path);
      return spot != null && spot.key() != null ? spot.key() : where(path);
    }

    /** A value for a message; a value from the environment is named by its template, never shown. */
    String describe(String path) {
      String template = templates.get(path);
      if (template != null) {
        return "the value of '" + template + "'";
      }
      JsonNode node = node(path);
      if (node == null || node.isNull() || node.isMissingNode()) {
        return "nothing";
      }
      if (node.isObject()) {
        return "a map";
      }
      if (node.isArray()) {
        return "a list";
      }
      if (node.isTextual()) {
        String text = node.textValue();
        return "'" + (text.length() > 60 ? text.substring(0, 57) + "..." : text) + "'";
      }
      return node.asText();
    }

    ConfigException error(String path, JsonLocation at, String detail) {
      return new ConfigException(
          source, path, at == null ? 0 : at.getLineNr(), at == null ? 0 : at.getColumnNr(), redact(detail));
    }

    // Last line of defence: record constructors quote values in their messages, so any value that
    // came from the environment is replaced by its placeholder, longest first.
    private String redact(String detail) {
      String out = detail;
      List<Map.Entry<String, String>> bySize = new ArrayList<>(secrets.entrySet());
      bySize.sort(Comparator.comparingInt((Map.Entry<String, String> s) -> s.getKey().length()).reversed());
      for (Map.Entry<String, String> s : bySize) {
        out = out.replace(s.getKey(), "${env:" + s.getValue() + "}");
      }
      return out;
    }
  }

  /** A message of ours, shown as is. */
  private static final class PlainMessage extends JsonMappingException {
    private static final long serialVersionUID = 1L;

    PlainMessage(JsonParser p, String message) {
      super(p, message);
    }
  }

  private static final class DurationDeserializer extends StdScalarDeserializer<Duration> {
    private static final long serialVersionUID = 1L;

    DurationDeserializer() {
      super(Duration.class);
    }

    @Override
    public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.hasToken(JsonToken.VALUE_STRING)) {
        String text = p.getText().trim();
        return parseDuration(text)
            .orElseThrow(() -> new PlainMessage(p, "'" + text + "' is not a duration (expected: " + DURATION_FORMS + ")"));
      }
      if (p.currentToken() != null && p.currentToken().isNumeric()) {
        throw new PlainMessage(
            p, p.getText() + " has no unit (expected: a duration with a unit, " + DURATION_FORMS + ")");
      }
      return (Duration) ctxt.handleUnexpectedToken(Duration.class, p);
    }
  }
}
