package dev.gatehouse.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.net.URI;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The config file as an operator may see it in the admin API and the console: secrets replaced by
 * {@value #MASK}. Masked are the values of secret-like keys ({@code client_secret}, {@code password},
 * {@code token}, {@code key}, {@code hash}, …), every value under {@code headers} and {@code env} (an
 * {@code Authorization} header, a stdio server's API key), and the password in a URL's user info
 * ({@code redis://:pw@host}). An environment reference ({@code ${env:NAME}}) is not a secret and stays,
 * so the view says where each secret comes from. Comments are not kept.
 */
final class ConfigView {
  static final String MASK = "********";

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
  private static final Set<String> SECRET_KEYS = Set.of("secret", "password", "token", "key", "api_key", "hash", "credential",
      "authorization", "passphrase", "value"); // value: a provider key's ({@code keys: [{value: …}]})
  private static final Set<String> SECRET_SUFFIXES = Set.of("_secret", "_password", "_token", "_api_key", "_access_key", "_credential");
  private static final Set<String> SECRET_MAPS = Set.of("headers", "env");
  private static final Pattern ENV_REFERENCE = Pattern.compile("\\$\\{env:[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?}");

  private ConfigView() {}

  /**
   * {@code text} (YAML or JSON) with its secrets masked, as YAML.
   *
   * @throws IllegalArgumentException when the text does not parse (the message says where)
   */
  static String masked(String text) {
    JsonNode tree;
    try {
      tree = YAML.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("the config file does not parse: " + e.getOriginalMessage());
    }
    if (tree == null || tree.isMissingNode()) {
      return "";
    }
    mask(tree, false);
    try {
      return YAML.writeValueAsString(tree);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void mask(JsonNode node, boolean everything) {
    if (node instanceof ObjectNode o) {
      Iterator<Map.Entry<String, JsonNode>> fields = o.fields();
      while (fields.hasNext()) {
        Map.Entry<String, JsonNode> f = fields.next();
        String name = f.getKey().toLowerCase(Locale.ROOT);
        JsonNode v = f.getValue();
        if (v.isValueNode()) {
          if (everything || secretKey(name)) {
            f.setValue(maskValue(v));
          } else if (v.isTextual()) {
            f.setValue(TextNode.valueOf(withoutPassword(v.asText())));
          }
        } else {
          mask(v, everything || SECRET_MAPS.contains(name) || secretKey(name));
        }
      }
    } else if (node instanceof ArrayNode a) {
      for (int i = 0; i < a.size(); i++) {
        JsonNode v = a.get(i);
        if (v.isValueNode()) {
          a.set(i, everything ? maskValue(v) : v.isTextual() ? TextNode.valueOf(withoutPassword(v.asText())) : v);
        } else {
          mask(v, everything);
        }
      }
    }
  }

  private static boolean secretKey(String name) {
    return SECRET_KEYS.contains(name) || SECRET_SUFFIXES.stream().anyMatch(name::endsWith);
  }

  private static JsonNode maskValue(JsonNode v) {
    if (v.isNull() || v.isBoolean() || (v.isTextual() && ENV_REFERENCE.matcher(v.asText()).matches())) {
      return v;
    }
    return TextNode.valueOf(MASK);
  }

  /** A URL's user-info password replaced ({@code postgresql://app:pw@db/x} → {@code postgresql://app:********@db/x}). */
  static String withoutPassword(String value) {
    int scheme = value.indexOf("://");
    int at = value.indexOf('@');
    if (scheme <= 0 || at < scheme) {
      return value;
    }
    try {
      URI u = URI.create(value);
      String info = u.getRawUserInfo();
      if (info == null || info.indexOf(':') < 0) {
        return value;
      }
      String user = info.substring(0, info.indexOf(':'));
      return value.replace(info + "@", user + ":" + MASK + "@");
    } catch (IllegalArgumentException e) {
      return value;
    }
  }
}
