import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads the JUnit XML reports bnd-testing wrote, prints one summary line ("osgi: N passed, N failed, N skipped")
 * and exits non-zero when a test failed or when no test ran at all (a tester that finds nothing must not pass).
 * Run as a single-file Java program: java CheckTestReports.java DIR
 */
public class CheckTestReports {
    private static final Pattern SUITE = Pattern.compile("<testsuite\\b[^>]*>");

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        List<Path> reports;
        try (Stream<Path> files = Files.exists(dir) ? Files.walk(dir) : Stream.empty()) {
            reports = files.filter(p -> p.getFileName().toString().endsWith(".xml")).toList();
        }
        long tests = 0, failures = 0, errors = 0, skipped = 0;
        for (Path report : reports) {
            Matcher m = SUITE.matcher(Files.readString(report));
            while (m.find()) {
                tests += attr(m.group(), "tests");
                failures += attr(m.group(), "failures");
                errors += attr(m.group(), "errors");
                skipped += attr(m.group(), "skipped");
            }
        }
        long failed = failures + errors;
        long passed = tests - failed - skipped;
        System.out.println("osgi: " + passed + " passed, " + failed + " failed, " + skipped + " skipped");
        if (tests == 0) {
            System.out.println("osgi: no test ran (reports in " + dir + ": " + reports.size() + ")");
            System.exit(1);
        }
        if (failed > 0) System.exit(1);
    }

    private static long attr(String tag, String name) {
        Matcher m = Pattern.compile("\\b" + name + "=\"(\\d+)\"").matcher(tag);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }
}
