package dev.gatehouse.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the JMH microbenchmarks of this module ({@code *Bench} classes) with the given JMH command-line
 * options, in forked JVMs, after every process of the load scenarios has stopped.
 */
final class Jmh {
  private Jmh() {}

  static List<Report.Jmh> run(List<String> args, Path json) throws RunnerException {
    CommandLineOptions cli;
    try {
      cli = new CommandLineOptions(args.toArray(String[]::new));
    } catch (CommandLineOptionException e) {
      throw new Options.Usage("--jmh-args: " + e.getMessage());
    }
    OptionsBuilder b = new OptionsBuilder();
    b.parent(cli).resultFormat(ResultFormatType.JSON).result(json.toString());
    if (cli.getIncludes().isEmpty()) {
      b.include("dev\\.gatehouse\\.bench\\..*Bench\\..*");
    }
    System.out.println("\n== JMH microbenchmarks (" + String.join(" ", args) + ")");
    Collection<RunResult> results = new Runner(b.build()).run();
    List<Report.Jmh> out = new ArrayList<>();
    for (RunResult r : results) {
      var p = r.getParams();
      List<String> params = new ArrayList<>();
      for (String k : p.getParamsKeys()) {
        params.add(k + "=" + p.getParam(k));
      }
      String name = p.getBenchmark().replace("dev.gatehouse.bench.", "");
      var primary = r.getPrimaryResult();
      out.add(new Report.Jmh(name, String.join(", ", params), p.getMode().shortLabel(), primary.getScore(), primary.getScoreError(),
          primary.getScoreUnit()));
    }
    return out;
  }
}
