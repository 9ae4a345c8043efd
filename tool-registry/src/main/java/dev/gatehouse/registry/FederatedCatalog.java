package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable snapshot of every connected upstream's catalog, with federated names: tools and
 * prompts as {@code <server>__<name>}, resource URIs as {@code <server>+<uri>}. Rebuilt whenever an
 * upstream's catalog changes; lookups are map reads.
 */
public final class FederatedCatalog {

  /** A tool or prompt under its federated name. {@code definition} carries the federated name. */
  public record Entry(String name, String server, String originalName, ObjectNode definition) {}

  /** A resource or resource template with its federated URI in {@code definition}. */
  public record ResourceEntry(String uri, String server, String originalUri, ObjectNode definition) {}

  /** A federated URI resolved back to its owner. */
  public record ResolvedUri(String server, String originalUri) {}

  private static final FederatedCatalog EMPTY = new FederatedCatalog(Map.of(), "__");

  private final Map<String, UpstreamCatalog> servers;
  private final String separator;
  private final List<Entry> tools;
  private final Map<String, Entry> toolsByName;
  private final List<Entry> prompts;
  private final Map<String, Entry> promptsByName;
  private final List<ResourceEntry> resources;
  private final List<ResourceEntry> templates;

  FederatedCatalog(Map<String, UpstreamCatalog> servers, String separator) {
    this.servers = Collections.unmodifiableMap(new LinkedHashMap<>(servers));
    this.separator = separator;
    List<Entry> t = new ArrayList<>();
    List<Entry> p = new ArrayList<>();
    List<ResourceEntry> r = new ArrayList<>();
    List<ResourceEntry> rt = new ArrayList<>();
    for (UpstreamCatalog c : servers.values()) {
      for (ObjectNode tool : c.tools()) {
        t.add(renamed(c.server(), tool));
      }
      for (ObjectNode prompt : c.prompts()) {
        p.add(renamed(c.server(), prompt));
      }
      for (ObjectNode res : c.resources()) {
        r.add(rewritten(c.server(), res, "uri"));
      }
      for (ObjectNode tmpl : c.resourceTemplates()) {
        rt.add(rewritten(c.server(), tmpl, "uriTemplate"));
      }
    }
    this.tools = List.copyOf(t);
    this.prompts = List.copyOf(p);
    this.resources = List.copyOf(r);
    this.templates = List.copyOf(rt);
    this.toolsByName = index(t);
    this.promptsByName = index(p);
  }

  static FederatedCatalog empty() {
    return EMPTY;
  }

  private Entry renamed(String server, ObjectNode def) {
    String original = Json.text(def, "name");
    String name = ToolNames.federated(server, separator, original);
    ObjectNode copy = def.deepCopy();
    copy.put("name", name);
    appResourceUris(copy, uri -> ToolNames.federatedUri(server, uri));
    return new Entry(name, server, original, copy);
  }

  /**
   * Maps the UI resource an MCP App tool names ({@code _meta.ui.resourceUri}, and the older
   * {@code _meta["ui/resourceUri"]}): on {@code /mcp} the host must read it under its federated URI.
   */
  public static void appResourceUris(ObjectNode def, java.util.function.UnaryOperator<String> map) {
    if (!(def.get("_meta") instanceof ObjectNode meta)) {
      return;
    }
    if (meta.get("ui") instanceof ObjectNode ui && ui.path("resourceUri").isTextual()) {
      ui.put("resourceUri", map.apply(ui.get("resourceUri").asText()));
    }
    if (meta.path("ui/resourceUri").isTextual()) {
      meta.put("ui/resourceUri", map.apply(meta.get("ui/resourceUri").asText()));
    }
  }

  private static ResourceEntry rewritten(String server, ObjectNode def, String field) {
    String original = Json.text(def, field);
    String uri = ToolNames.federatedUri(server, original);
    ObjectNode copy = def.deepCopy();
    copy.put(field, uri);
    return new ResourceEntry(uri, server, original, copy);
  }

  private static Map<String, Entry> index(List<Entry> entries) {
    Map<String, Entry> m = new LinkedHashMap<>();
    for (Entry e : entries) {
      m.putIfAbsent(e.name(), e);
    }
    return Collections.unmodifiableMap(m);
  }

  public List<Entry> tools() {
    return tools;
  }

  public Optional<Entry> tool(String federatedName) {
    return Optional.ofNullable(toolsByName.get(federatedName));
  }

  public List<Entry> prompts() {
    return prompts;
  }

  public Optional<Entry> prompt(String federatedName) {
    return Optional.ofNullable(promptsByName.get(federatedName));
  }

  public List<ResourceEntry> resources() {
    return resources;
  }

  public List<ResourceEntry> resourceTemplates() {
    return templates;
  }

  /** The owner of a federated URI ({@code server+original}), if that server is connected. */
  public Optional<ResolvedUri> resolveUri(String federatedUri) {
    int plus = federatedUri.indexOf('+');
    if (plus <= 0) {
      return Optional.empty();
    }
    String server = federatedUri.substring(0, plus);
    return servers.containsKey(server)
        ? Optional.of(new ResolvedUri(server, federatedUri.substring(plus + 1)))
        : Optional.empty();
  }

  /** Connected upstreams' catalogs by server name, in config order. */
  public Map<String, UpstreamCatalog> servers() {
    return servers;
  }

  public Optional<UpstreamCatalog> server(String name) {
    return Optional.ofNullable(servers.get(name));
  }

  public String separator() {
    return separator;
  }
}
