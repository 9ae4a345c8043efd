package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.registry.CallContext;
import java.util.Optional;

/**
 * One resolved call on its way through the pipeline: which upstream, which of its tools, resources
 * or prompts (by original name or URI), and the parameters exactly as they will be sent.
 *
 * @param kind what is being used; policies decide per kind
 * @param principal who is calling
 * @param source which door: {@code mcp} or {@code execute}
 * @param chainId the agent task this call belongs to (audit)
 * @param toolCallId the model's tool-call id, for calls through {@code /v1/mcp/tool/execute}
 * @param requestedName the name or URI the client used (federated form on {@code /mcp})
 * @param server the owning upstream
 * @param target the upstream's own tool/prompt name or resource URI
 * @param policyName the name policies see: the federated tool or prompt name ({@code server__name})
 *     or resource URI ({@code server+uri}), whichever endpoint the call came through
 * @param method the MCP method to forward
 * @param params the parameters to forward, already rewritten to the upstream's names
 * @param context where the upstream's progress, logs and requests go
 * @param facts what the steps learn on the way, for the record step
 */
record Invocation(Kind kind, Principal principal, String source, String chainId, Optional<String> toolCallId,
    String requestedName, String server, String target, String policyName, String method, ObjectNode params,
    CallContext context, CallFacts facts) {

  /** What an invocation uses. */
  enum Kind { TOOL, RESOURCE, PROMPT, COMPLETION }
}
