package dev.gatehouse.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.audit.AuditBenchAccess;
import dev.gatehouse.registry.Json;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The hashing one audited call costs, in the gateway's own code (reached through
 * {@link BenchAccess}): the canonical-JSON SHA-256 digests of the arguments and of the result
 * ({@code AuditStep.digest}), and the hash-chain link over every field of the step
 * ({@code AuditChain.hash}), separately and together with building the step.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AuditBench {
  private JsonNode args;
  private JsonNode result;
  private Object step;
  private MessageDigest sha;
  private String prev;
  private long seq;

  @Setup
  public void setup() throws Exception {
    args = Json.MAPPER.readTree("{\"path\":\"/data/shared/reports/q3.csv\",\"encoding\":\"utf-8\",\"options\":{\"head\":100,\"tail\":0},"
        + "\"text\":\"hello bench\",\"n\":42}");
    result = Json.MAPPER.readTree("{\"content\":[{\"type\":\"text\",\"text\":\"" + "id,amount,currency\\n1,12.50,EUR\\n".repeat(20)
        + "\"}],\"isError\":false}");
    step = AuditBenchAccess.toolStep("bench-chain-1", args, result);
    sha = AuditBenchAccess.sha256();
    prev = "0".repeat(64);
  }

  @Benchmark
  public String digestArguments() {
    return AuditBenchAccess.digest(args);
  }

  @Benchmark
  public String digestResult() {
    return AuditBenchAccess.digest(result);
  }

  @Benchmark
  public String chainHash() {
    return AuditBenchAccess.chainHash(sha, prev, ++seq, step);
  }

  /** Everything hashing costs one call: two digests, the step, its chain link. */
  @Benchmark
  public String perCall() {
    Object s = AuditBenchAccess.toolStep("bench-chain-1", args, result);
    return AuditBenchAccess.chainHash(sha, prev, ++seq, s);
  }
}
