package dev.gatehouse.bench;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The floor: nginx as a plain reverse proxy in front of the same mocks, with kept-alive upstream
 * connections and no buffering (streams pass at once). What any proxy hop costs on this machine; the
 * gateway's overhead is reported as a multiple of it. {@code scripts/bench} installs nginx (Debian's
 * {@code nginx-light}) when it is missing.
 */
final class Nginx {
  private Nginx() {}

  /** The nginx binary on the PATH or in /usr/sbin, if any. */
  static Optional<Path> binary() {
    for (String dir : (System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/sbin").split(File.pathSeparator)) {
      Path p = Path.of(dir, "nginx");
      if (!dir.isEmpty() && Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** Starts nginx on 127.0.0.1:{@code port}, proxying everything to 127.0.0.1:{@code upstreamPort}. */
  static Process start(Children children, Path nginx, Path dir, int port, int upstreamPort) throws IOException {
    Files.createDirectories(dir);
    for (String t : List.of("client_body", "proxy", "fastcgi", "uwsgi", "scgi")) {
      Files.createDirectories(dir.resolve(t));
    }
    Path conf = dir.resolve("nginx.conf");
    String root = System.getProperty("user.name").equals("root") ? "user root;\n" : "";
    Files.writeString(conf, """
        # Written by bench run: the floor, a plain reverse proxy in front of the mocks.
        %sdaemon off;
        master_process on;
        worker_processes auto;
        pid %s/nginx.pid;
        error_log %s/error.log warn;
        events { worker_connections 16384; multi_accept on; }
        http {
          access_log off;
          client_body_temp_path %s/client_body;
          proxy_temp_path %s/proxy;
          fastcgi_temp_path %s/fastcgi;
          uwsgi_temp_path %s/uwsgi;
          scgi_temp_path %s/scgi;
          keepalive_requests 100000000;
          keepalive_timeout 120s;
          upstream mocks {
            server 127.0.0.1:%d;
            keepalive 1024;
            keepalive_requests 100000000;
            keepalive_timeout 120s;
          }
          server {
            listen 127.0.0.1:%d backlog=4096;
            location / {
              proxy_pass http://mocks;
              proxy_http_version 1.1;
              proxy_set_header Connection "";
              proxy_buffering off;
              proxy_request_buffering off;
              proxy_read_timeout 60s;
            }
          }
        }
        """.formatted(root, dir, dir, dir, dir, dir, dir, dir, upstreamPort, port));
    return children.start("nginx", List.of(nginx.toString(), "-p", dir.toString(), "-c", conf.toString()), dir.resolve("nginx.log"));
  }
}
