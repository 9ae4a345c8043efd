package dev.gatehouse.router;

import static dev.gatehouse.router.Fixtures.HELLO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.gatehouse.router.Fixtures.TestRouter;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Providers over https: the certificate is checked before anything is sent. */
class TlsTest {
  private static final char[] PASSWORD = "changeit".toCharArray();

  @Test
  void aProviderWhoseCertificateIsNotTrustedIsRefusedAndNeverSeesTheRequest(@TempDir Path dir) throws Exception {
    Path keystore = dir.resolve("self-signed.p12");
    Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "provider", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
        "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(),
        "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
    String out = new String(keytool.getInputStream().readAllBytes());
    assertEquals(0, keytool.waitFor(), out);
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      ks.load(in, PASSWORD);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, PASSWORD);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(kmf.getKeyManagers(), null, null);

    AtomicInteger requests = new AtomicInteger();
    HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(tls));
    server.createContext("/", exchange -> {
      requests.incrementAndGet();
      exchange.sendResponseHeaders(500, -1);
      exchange.close();
    });
    server.start();
    try {
      ProviderConfig provider = Fixtures.fast(ProviderConfig.of(ProviderKind.OPENAI, ProviderConfig.Key.of(Fixtures.SECRET))
          .withBaseUrl("https://127.0.0.1:" + server.getAddress().getPort() + "/v1"));
      try (TestRouter r = Fixtures.router("openai", provider)) {
        RouterException e = assertThrows(RouterException.class, () -> r.complete(HELLO));
        assertEquals(502, e.status(), e.getMessage());
        assertEquals("upstream_unavailable", e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("SSL") || e.getMessage().contains("certificat") || e.getMessage().contains("PKIX"),
            e.getMessage());
      }
      assertEquals(0, requests.get(), "no request reached a provider whose certificate is not trusted");
    } finally {
      server.stop(0);
    }
  }
}
