package dev.gatehouse.bench;

import dev.gatehouse.identity.ApiKeyConfig;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.identity.AuthResult;
import dev.gatehouse.identity.Authenticator;
import dev.gatehouse.identity.IdentityConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Gateway API keys through {@code Authenticator.authenticate}, as the load scenarios authenticate:
 * the presented key is hashed and compared with every one of {@code keys} configured hashes in
 * constant time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ApiKeyBench {
  @Param({"1", "100"})
  public int keys;

  private Authenticator auth;
  private String key;

  @Setup
  public void setup() {
    List<ApiKeyConfig> configs = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      String k = ApiKeys.generate();
      configs.add(ApiKeyConfig.of("key-" + i, ApiKeys.hash(k), "agent-" + i).withGroups(List.of("bench")));
      key = k;
    }
    auth = Authenticator.create(new IdentityConfig(List.of(), configs, false));
    if (!(auth.authenticate(Optional.empty(), Optional.of(key)) instanceof AuthResult.Authenticated)) {
      throw new IllegalStateException("the bench key must be accepted");
    }
  }

  @TearDown
  public void tearDown() {
    auth.close();
  }

  @Benchmark
  public AuthResult apiKey() {
    return auth.authenticate(Optional.empty(), Optional.of(key));
  }
}
