package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.gatehouse.policy.GlobList;
import java.util.List;

/**
 * One entry of the {@code agent_mode:} list: for model calls allowed by the policy rules it names,
 * which MCP tools are offered to the model by default and which of the model's tool calls the gateway
 * runs itself (agent mode), up to how many rounds.
 *
 * @param rules ids (globs) of the policy rules whose allowed model calls this entry governs; with no
 *     policies configured the rule id is {@code none}
 * @param offerTools tool-name globs offered to the model when the request has no
 *     {@code x-gatehouse-tools} header
 * @param autoExecute tool-name globs the gateway executes itself when the model calls them
 * @param maxDepth how many model calls one request may take in agent mode (the first included)
 */
public record AgentModeSettings(GlobList rules, GlobList offerTools, GlobList autoExecute, int maxDepth) {

  public AgentModeSettings {
    if (rules.isEmpty()) {
      throw new IllegalArgumentException("rules: empty (expected: the ids of the policy rules this entry applies to, or [\"*\"])");
    }
    if (maxDepth < 1 || maxDepth > 32) {
      throw new IllegalArgumentException("max_depth: " + maxDepth + " (expected: 1..32)");
    }
  }

  @JsonCreator
  static AgentModeSettings fromConfig(
      @JsonProperty("rules") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> rules,
      @JsonProperty("offer_tools") List<String> offerTools,
      @JsonProperty("auto_execute") List<String> autoExecute,
      @JsonProperty("max_depth") Integer maxDepth) {
    return new AgentModeSettings(globs("rules", rules), globs("offer_tools", offerTools), globs("auto_execute", autoExecute),
        maxDepth == null ? 5 : maxDepth);
  }

  private static GlobList globs(String field, List<String> patterns) {
    try {
      return GlobList.of(patterns == null ? List.of() : patterns);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + e.getMessage(), e);
    }
  }

  boolean appliesTo(String ruleId) {
    return rules.matches(ruleId);
  }

  boolean autoExecutes(String tool) {
    return autoExecute.matches(tool);
  }
}
