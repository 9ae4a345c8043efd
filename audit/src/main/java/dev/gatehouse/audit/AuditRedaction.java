package dev.gatehouse.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Replaces configured parts of a JSON value with {@code "[REDACTED]"} before the audit store digests
 * or captures it. Compile the paths once ({@link #of}) and {@link #apply} per call.
 *
 * <p>Path syntax, deliberately small:
 *
 * <ul>
 *   <li>{@code password}: a single bare name matches that key <em>at any depth</em>, in every object
 *       of the value. This is what the defaults ({@code password}, {@code token}, …) rely on.
 *   <li>{@code auth.token}: names joined by dots are anchored at the root: the {@code token} key of
 *       the root's {@code auth} object. A leading {@code $.} anchors a single name too
 *       ({@code $.token} is only the root's {@code token}).
 *   <li>{@code items[*].secret}: {@code [*]} after a name (or alone, for a root array) steps into
 *       every element of that array; {@code *} as a name matches every key of an object.
 * </ul>
 *
 * Keys match case-insensitively (redacting too much is the safe error). A path that does not fit
 * the value is simply not applied; the whole subtree at a matching path is replaced.
 */
public final class AuditRedaction {
  static final String REDACTED = "[REDACTED]";
  private static final AuditRedaction NONE = new AuditRedaction(List.of(), List.of());

  private sealed interface Step permits Key, AnyKey, EachElement {}

  private record Key(String name) implements Step {}

  private record AnyKey() implements Step {}

  private record EachElement() implements Step {}

  private final List<String> anywhere;
  private final List<List<Step>> anchored;

  private AuditRedaction(List<String> anywhere, List<List<Step>> anchored) {
    this.anywhere = anywhere;
    this.anchored = anchored;
  }

  /** No redaction. */
  public static AuditRedaction none() {
    return NONE;
  }

  /**
   * Compiles {@code paths}.
   *
   * @throws IllegalArgumentException naming the first malformed path, e.g.
   *     {@code redact[1]: 'a..b' (expected: …)}
   */
  public static AuditRedaction of(List<String> paths) {
    List<String> anywhere = new ArrayList<>();
    List<List<Step>> anchored = new ArrayList<>();
    for (int i = 0; i < paths.size(); i++) {
      String path = paths.get(i);
      List<Step> steps = parse(path, i);
      if (!path.startsWith("$.") && steps.size() == 1 && steps.get(0) instanceof Key k) {
        anywhere.add(k.name());
      } else {
        anchored.add(List.copyOf(steps));
      }
    }
    return anywhere.isEmpty() && anchored.isEmpty() ? NONE : new AuditRedaction(List.copyOf(anywhere), List.copyOf(anchored));
  }

  /** {@code json} with {@code paths} redacted; compiles the paths on every call, so prefer {@link #of}. */
  static JsonNode redact(JsonNode json, List<String> paths) {
    return of(paths).apply(json);
  }

  /** Whether this redacts nothing, so {@link #apply} returns its argument unchanged. */
  public boolean isEmpty() {
    return this == NONE;
  }

  /**
   * {@code json} with every matching part replaced by {@code "[REDACTED]"}: a copy when anything
   * may match, {@code json} itself when it is a scalar or there are no paths. The argument is never
   * modified.
   */
  public JsonNode apply(JsonNode json) {
    if (isEmpty() || !json.isContainerNode()) {
      return json;
    }
    JsonNode copy = json.deepCopy();
    if (!anywhere.isEmpty()) {
      redactAnywhere(copy);
    }
    for (List<Step> steps : anchored) {
      redactPath(copy, steps, 0);
    }
    return copy;
  }

  private void redactAnywhere(JsonNode node) {
    if (node instanceof ObjectNode object) {
      for (String name : fieldNames(object)) {
        if (matchesAnywhere(name)) {
          object.set(name, TextNode.valueOf(REDACTED));
        } else {
          redactAnywhere(object.get(name));
        }
      }
    } else if (node instanceof ArrayNode array) {
      for (JsonNode element : array) {
        redactAnywhere(element);
      }
    }
  }

  private boolean matchesAnywhere(String name) {
    for (String a : anywhere) {
      if (a.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  private static void redactPath(JsonNode node, List<Step> steps, int i) {
    boolean last = i == steps.size() - 1;
    switch (steps.get(i)) {
      case Key k -> {
        if (node instanceof ObjectNode object) {
          for (String name : fieldNames(object)) {
            if (name.equalsIgnoreCase(k.name())) {
              redactField(object, name, steps, i, last);
            }
          }
        }
      }
      case AnyKey a -> {
        if (node instanceof ObjectNode object) {
          for (String name : fieldNames(object)) {
            redactField(object, name, steps, i, last);
          }
        }
      }
      case EachElement e -> {
        if (node instanceof ArrayNode array) {
          for (int j = 0; j < array.size(); j++) {
            if (last) {
              array.set(j, TextNode.valueOf(REDACTED));
            } else {
              redactPath(array.get(j), steps, i + 1);
            }
          }
        }
      }
    }
  }

  private static void redactField(ObjectNode object, String name, List<Step> steps, int i, boolean last) {
    if (last) {
      object.set(name, TextNode.valueOf(REDACTED));
    } else {
      redactPath(object.get(name), steps, i + 1);
    }
  }

  // A snapshot, because the loops above replace values while they walk.
  private static List<String> fieldNames(ObjectNode object) {
    List<String> names = new ArrayList<>(object.size());
    object.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static List<Step> parse(String path, int index) {
    String expected = "(expected: a key such as password, a dotted path such as auth.token, "
        + "with [*] for array elements and * for any key, e.g. items[*].secret)";
    if (path == null || path.isBlank()) {
      throw new IllegalArgumentException("redact[" + index + "]: '" + path + "' " + expected);
    }
    String body = path.startsWith("$.") ? path.substring(2) : path;
    List<Step> steps = new ArrayList<>();
    for (String segment : body.split("\\.", -1)) {
      String name = segment;
      int elements = 0;
      while (name.endsWith("[*]")) {
        name = name.substring(0, name.length() - 3);
        elements++;
      }
      if (name.equals("*")) {
        steps.add(new AnyKey());
      } else if (!name.isEmpty()) {
        if (name.contains("[") || name.contains("]") || name.contains("*") || !name.strip().equals(name)) {
          throw new IllegalArgumentException("redact[" + index + "]: '" + path + "' " + expected);
        }
        steps.add(new Key(name.toLowerCase(Locale.ROOT)));
      } else if (elements == 0 || !steps.isEmpty()) {
        // An empty segment ("a..b", ".a", "a.") or a bare "[*]" after a dot.
        throw new IllegalArgumentException("redact[" + index + "]: '" + path + "' " + expected);
      }
      for (int j = 0; j < elements; j++) {
        steps.add(new EachElement());
      }
    }
    return steps;
  }
}
