package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

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
    List<ObjectNode> prompts) {

  public UpstreamCatalog {
    tools = List.copyOf(tools);
    resources = List.copyOf(resources);
    resourceTemplates = List.copyOf(resourceTemplates);
    prompts = List.copyOf(prompts);
  }

  UpstreamCatalog withTools(List<ObjectNode> t) {
    return new UpstreamCatalog(server, protocolVersion, capabilities, serverInfo, instructions, t, resources, resourceTemplates, prompts);
  }

  UpstreamCatalog withResources(List<ObjectNode> r, List<ObjectNode> templates) {
    return new UpstreamCatalog(server, protocolVersion, capabilities, serverInfo, instructions, tools, r, templates, prompts);
  }

  UpstreamCatalog withPrompts(List<ObjectNode> p) {
    return new UpstreamCatalog(server, protocolVersion, capabilities, serverInfo, instructions, tools, resources, resourceTemplates, p);
  }

  public boolean has(String capability) {
    return capabilities.has(capability);
  }
}
