package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The deployment files (deploy/) cannot be run here (no Docker engine, no cluster): they are checked
 * by reading them. The Dockerfile builds in one stage and runs as a non-root user with jvm.options in
 * another; the Kubernetes manifests run 2+ non-root replicas probed on endpoints the gateway serves,
 * and their config loads, naming a PostgreSQL audit store and Redis limits.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DeploymentFilesTest {
  private static final Path DEPLOY = NodeTooling.ROOT.resolve("deploy");

  @Test
  void theDockerfileBuildsInOneStageAndRunsAsNonRootWithTheShippedJvmOptions() throws Exception {
    List<String> lines = Files.readAllLines(DEPLOY.resolve("Dockerfile")).stream()
        .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    List<String> froms = lines.stream().filter(l -> l.startsWith("FROM ")).toList();
    assertEquals(2, froms.size(), "a build stage and a run stage: " + froms);
    assertTrue(froms.get(0).contains(" AS build"), froms.get(0));
    int run = lines.indexOf(froms.get(1));
    List<String> runStage = lines.subList(run, lines.size());
    String user = runStage.stream().filter(l -> l.startsWith("USER ")).findFirst().orElseThrow();
    assertTrue(!user.contains("root") && !user.matches("USER 0(:.*)?"), user);
    assertTrue(runStage.stream().anyMatch(l -> l.equals("COPY --from=build /src/mcp-gateway/target/gatehouse.jar /opt/gatehouse/gatehouse.jar")));
    assertTrue(Files.readString(NodeTooling.ROOT.resolve("mcp-gateway/pom.xml")).contains("<finalName>gatehouse</finalName>"),
        "the jar the Dockerfile copies is the one the build makes");
    assertTrue(runStage.stream().anyMatch(l -> l.equals("COPY jvm.options /opt/gatehouse/jvm.options")));
    String entry = runStage.stream().filter(l -> l.startsWith("ENTRYPOINT ")).findFirst().orElseThrow();
    assertTrue(entry.contains("/opt/gatehouse/jvm.options") && entry.contains("-jar /opt/gatehouse/gatehouse.jar")
        && entry.contains("--config /etc/gatehouse/gatehouse.yaml"), entry);
  }

  @Test
  void theKubernetesManifestsRunTwoProbedNonRootReplicasOnSharedStores() throws Exception {
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    List<JsonNode> docs = new ArrayList<>();
    try (MappingIterator<JsonNode> it = yaml.readerFor(JsonNode.class).readValues(DEPLOY.resolve("kubernetes/gatehouse.yaml").toFile())) {
      it.forEachRemaining(docs::add);
    }
    JsonNode deployment = kind(docs, "Deployment");
    assertTrue(deployment.path("spec").path("replicas").asInt() >= 2);
    JsonNode pod = deployment.path("spec").path("template").path("spec");
    assertTrue(pod.path("securityContext").path("runAsNonRoot").asBoolean());
    assertTrue(pod.path("securityContext").path("runAsUser").asInt() > 0);
    JsonNode container = pod.path("containers").get(0);
    assertEquals("/readyz", container.path("readinessProbe").path("httpGet").path("path").asText());
    assertEquals("/healthz", container.path("livenessProbe").path("httpGet").path("path").asText());
    assertTrue(ProbesHandler.owns("/readyz") && ProbesHandler.owns("/healthz"), "the probe paths are the gateway's own");
    assertEquals(8080, container.path("ports").get(0).path("containerPort").asInt());
    assertEquals("Service", kind(docs, "Service").path("kind").asText());
    assertTrue(kind(docs, "PodDisruptionBudget").path("spec").path("minAvailable").asInt() >= 1);

    String config = kind(docs, "ConfigMap").path("data").path("gatehouse.yaml").asText();
    Map<String, String> env = Map.of(
        "AUDIT_STORE", "postgresql://gatehouse:pw@postgres:5432/gatehouse",
        "LIMITS_STORE", "redis://:pw@redis:6379/0");
    GatewayConfig c = new ConfigLoader(env::get).parse(config, "deploy/kubernetes/gatehouse.yaml");
    assertEquals(8080, c.server().port());
    assertEquals("jdbc:postgresql://postgres:5432/gatehouse", c.audit().postgres().orElseThrow().jdbcUrl());
    assertEquals("redis://:***@redis:6379/0", c.limits().location());
    assertEquals(LimitsSettings.FailMode.FAIL_CLOSED, c.limits().onUnavailable());
    assertEquals("redis", c.server().sessions().store().orElseThrow().getScheme(), "sessions are served by any replica");
  }

  private static JsonNode kind(List<JsonNode> docs, String kind) {
    return docs.stream().filter(d -> d.path("kind").asText().equals(kind)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " in the manifests"));
  }

}
