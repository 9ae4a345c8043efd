package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One upstream's offer as it described it (original names and URIs), with its handshake. Immutable
 * by convention: the nodes are never modified after the catalog is built.
 */
public record UpstreamCatalog(
    String server,
    String protocolVersion,
    ObjectNode capabilities,
    ObjectNode serverInfo,
    String instructions,
    List<ObjectNode> tools,
    List<ObjectNode> resources,
    List<ObjectNode> resourceTemplates,
    List<ObjectNode> prompts,
    Map<String, ObjectNode> listExtras) {

  public UpstreamCatalog {
    tools = List.copyOf(tools);
    resources = List.copyOf(resources);
    resourceTemplates = List.copyOf(resourceTemplates);
    prompts = List.copyOf(prompts);
    listExtras = Map.copyOf(listExtras);
  }

  public UpstreamCatalog(String server, String protocolVersion, ObjectNode capabilities, ObjectNode serverInfo, String instructions,
      List<ObjectNode> tools, List<ObjectNode> resources, List<ObjectNode> resourceTemplates, List<ObjectNode> prompts) {
    this(server, protocolVersion, capabilities, serverInfo, instructions, tools, resources, resourceTemplates, prompts, Map.of());
  }

  /**
   * What a list result carried besides its items and {@code nextCursor} ({@code ttlMs},
   * {@code cacheScope}, {@code _meta}), by the list's field ({@code tools}, {@code resources},
   * {@code resourceTemplates}, {@code prompts}): passed on unchanged where one upstream is exposed as is.
   */
  public ObjectNode extras(String field) {
    ObjectNode e = listExtras.get(field);
    return e == null ? Json.object() : e;
  }

  UpstreamCatalog with(String field, List<ObjectNode> items, ObjectNode extras) {
    Map<String, ObjectNode> x = new HashMap<>(listExtras);
    x.put(field, extras);
    return new UpstreamCatalog(server, protocolVersion, capabilities, serverInfo, instructions,
        field.equals("tools") ? items : tools, field.equals("resources") ? items : resources,
        field.equals("resourceTemplates") ? items : resourceTemplates, field.equals("prompts") ? items : prompts, x);
  }

  public boolean has(String capability) {
    return capabilities.has(capability);
  }
}
