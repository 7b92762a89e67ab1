package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web view as a user meets it: {@code retort.jar} with the view, a tiny training, the page in headless Chromium
 * (Debian's {@code chromium} and {@code chromium-driver}; .ci/run installs them). Also: nothing listens until the view
 * is asked for, and a state-changing request without the page's token is refused.
 */
class WebViewIT {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SCREENSHOT = Path.of("target", "web-view.png");

    @Test
    void nothingListensUntilKdWebAndThenOnlyOnLoopback(@TempDir Path work) throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR"), "-jar", Retort.JAR.toString());
        Path log = work.resolve("log.txt");
        Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try (OutputStream in = p.getOutputStream()) {
            // the shell is up once a command typed at it answers
            type(in, "kd:info");
            assertTrue(Retort.await(log, l -> l.contains("synthetic"), System.currentTimeMillis() + 120_000, p), Files.readString(log));
            assertEquals(List.of(), listening(p.pid()), "a runtime without the web view listens on no port");

            int port = freePort();
            type(in, "kd:web " + port);
            assertTrue(Retort.await(log, l -> l.contains("web view: http://127.0.0.1:" + port + "/"), System.currentTimeMillis() + 60_000, p),
                    Files.readString(log));
            assertEquals(List.of("127.0.0.1:" + port), listening(p.pid()), "kd:web listens on the loopback address only");

            type(in, "kd:web --stop");
            assertTrue(Retort.await(log, l -> l.contains("web view stopped"), System.currentTimeMillis() + 30_000, p), Files.readString(log));
            assertEquals(List.of(), listening(p.pid()), "nothing listens after kd:web --stop");
            type(in, "exit");
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), Files.readString(log));
        assertEquals(0, p.exitValue(), Files.readString(log));
        assertFalse(Files.readString(log).contains("Jetty not started"), "the disabled server's start-up warning is not shown: " + Files.readString(log));
    }

    @Test
    void thePageFollowsATinyRunAndDisablingAModuleTakesItsLossTermsOut(@TempDir Path work) throws Exception {
        boolean browser = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (!browser && "true".equals(System.getenv("CI"))) fail("CI needs " + CHROMIUM + " and " + CHROMEDRIVER + ": .ci/run installs chromium and chromium-driver");
        assumeTrue(browser, "skipped: no " + CHROMIUM + " or " + CHROMEDRIVER + " (apt-get install chromium chromium-driver)");

        Path run = Files.writeString(work.resolve("tiny.cfg"), String.join("\n", "name = tiny", "output = " + work.resolve("out"), "seed = 3",
                "teacher = mit-b2", "teacher.embed_dims = 16,32,48,64", "teacher.depths = 1,1,1,1", "teacher.num_heads = 1,2,3,4", "teacher.decoder_dim = 32",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "dataset = synthetic", "data.height = 32", "data.width = 64", "data.train_size = 16", "data.val_size = 4",
                // long enough for any machine: the test stops it (SIGTERM) once it has seen what it needs
                "modules = csf,pea", "batch_size = 2", "iterations = 100000", "eval_every = 5", "eval_batches = 1", "decay_per = iteration",
                "log_every = 1", "threads = 1", ""));
        int port = freePort();
        String base = "http://127.0.0.1:" + port + "/";
        // the view chained before the training in one command line, as a script would watch its run
        Process p = Retort.start(work, "kd:web " + port + "; kd:train " + run.getFileName());
        Path log = work.resolve("log.txt");
        WebDriver driver = null;
        try {
            assertTrue(Retort.await(log, l -> l.contains("web view: " + base), System.currentTimeMillis() + 120_000, p), Files.readString(log));

            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> forged = http.send(HttpRequest.newBuilder(URI.create(base + "api/modules/pea/disable"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(403, forged.statusCode(), "a POST without the page's token is refused: " + forged.body());

            driver = chromium(work.resolve("chromium-profile"));
            driver.get(base);
            WebDriver d = driver;
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(120), Duration.ofMillis(200));
            wait.until(x -> number(d, "step") >= 3);
            long first = number(d, "step");
            wait.until(x -> number(d, "step") >= first + 3);  // the counter advances without a reload
            wait.until(x -> number(d, "loss-points") >= 5 && !d.findElements(By.cssSelector("#loss-chart canvas")).isEmpty());
            wait.until(x -> !d.findElements(By.cssSelector("#terms tr[data-term='pea.4']")).isEmpty());
            assertEquals("RUNNING", text(d, "state"));
            assertEquals("100000", text(d, "total"));
            assertTrue(text(d, "device").toLowerCase().contains("cpu"), text(d, "device"));

            // the validation table in the dataset's class order (the synthetic city has Cityscapes' 19 classes)
            wait.until(x -> number(d, "miou-points") >= 1);
            List<String> classes = texts(d, "#iou tbody tr td:first-child");
            assertEquals(19, classes.size(), classes.toString());
            assertEquals(List.of("road", "sidewalk", "building"), classes.subList(0, 3));

            // modules with their parameters; disable pea from the page
            wait.until(x -> !d.findElements(By.cssSelector("#modules tr[data-module='pea'] button.toggle")).isEmpty());
            String peaParams = texts(d, "#modules tr[data-module='pea'] td.num").get(0);
            assertTrue(peaParams.matches("[\\d,]+") && !peaParams.equals("0"), "pea's parameter count: " + peaParams);
            long clickedAt = number(d, "terms-step");
            wait.until(x -> {
                try {
                    WebElement b = d.findElement(By.cssSelector("#modules tr[data-module='pea'] button.toggle"));
                    if (!b.getText().equals("disable")) return true;
                    b.click();
                    return true;
                } catch (StaleElementReferenceException e) {
                    return false;  // the table was drawn again meanwhile: find the button again
                }
            });
            wait.until(x -> text(d, "module-message").startsWith("pea: disable"));
            wait.until(x -> !d.findElements(By.cssSelector("#modules tr.disabled[data-module='pea']")).isEmpty());
            // the next steps carry no pea term, csf's goes on
            wait.until(x -> number(d, "terms-step") > clickedAt + 2 && d.findElements(By.cssSelector("#terms tr[data-term^='pea.']")).isEmpty());
            assertFalse(d.findElements(By.cssSelector("#terms tr[data-term='csf.hcl']")).isEmpty());
            long after = number(d, "terms-step");
            HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(base + "api/metrics?since=" + (after - 1))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, metrics.statusCode());
            assertTrue(metrics.body().contains("\"csf.hcl\"") && !metrics.body().contains("\"pea.1\""), metrics.body());
            HttpResponse<String> status = http.send(HttpRequest.newBuilder(URI.create(base + "api/run")).build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(status.body().contains("\"disabled_modules\":[\"pea\"]"), status.body());

            // a few more steps, so that the swap marker stands inside the chart, then the picture for the build's artefacts
            wait.until(x -> number(d, "step") >= after + 10);
            Files.createDirectories(SCREENSHOT.getParent());
            Path shot = ((ChromeDriver) driver).getScreenshotAs(OutputType.FILE).toPath();
            Files.copy(shot, SCREENSHOT, StandardCopyOption.REPLACE_EXISTING);
            assertTrue(Files.size(SCREENSHOT) > 10_000, "screenshot " + SCREENSHOT);
        } finally {
            if (driver != null) driver.quit();
            p.destroy();  // SIGTERM: the run stops at a step boundary and writes its checkpoint
            if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly();
        }
        assertEquals(143, p.exitValue(), Files.readString(log));
    }

    @Test
    void theLauncherOptionStartsTheViewFirstAndAPortInUseStopsTheCommand(@TempDir Path work) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Retort.Result r = Retort.run(work, "", "--web=" + taken.getLocalPort(), "kd:info");
            assertEquals(1, r.exit(), r.out() + r.err());
            assertTrue(r.err().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()), r.err());
            assertFalse(r.out().contains("Retort runtime"), "kd:info did not run: " + r.out());
        }
        Retort.Result bad = Retort.run(work, "", "--web=http", "kd:info");
        assertEquals(1, bad.exit());
        assertEquals("retort: --web=PORT: the port must be a number, got 'http'", bad.err().strip());
    }

    static WebDriver chromium(Path profile) throws IOException {
        Files.createDirectories(profile);
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1400,1700", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    /** The texts of the elements a selector finds, read in one script: the page redraws its tables as events come. */
    @SuppressWarnings("unchecked")
    private static List<String> texts(WebDriver d, String selector) {
        return (List<String>) ((JavascriptExecutor) d).executeScript(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent.trim())", selector);
    }

    private static String text(WebDriver d, String id) {
        return d.findElement(By.id(id)).getText().strip();
    }

    /** The number an element shows, or -1 while it shows none. */
    private static long number(WebDriver d, String id) {
        try {
            return Long.parseLong(text(d, id).replace(",", ""));
        } catch (NumberFormatException | StaleElementReferenceException e) {
            return -1;
        }
    }

    private static void type(OutputStream in, String line) throws IOException {
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * The TCP sockets a process listens on, as address:port, from Linux's /proc: the socket inodes among its open
     * files, looked up in the kernel's tables of listening sockets (state 0A).
     */
    static List<String> listening(long pid) throws IOException {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) inodes.add(target.substring(8, target.length() - 1));
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        List<String> out = new ArrayList<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            List<String> lines = Files.readAllLines(Path.of(table));
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.strip().split("\\s+");
                if (f[3].equals("0A") && inodes.contains(f[9])) out.add(address(f[1]));
            }
        }
        return out;
    }

    /** /proc/net/tcp's hex address:port (IPv4 in little-endian order; IPv6 as four little-endian words). */
    static String address(String hex) {
        String[] parts = hex.split(":");
        int port = Integer.parseInt(parts[1], 16);
        String a = parts[0];
        if (a.length() == 8) {
            return Integer.parseInt(a.substring(6, 8), 16) + "." + Integer.parseInt(a.substring(4, 6), 16) + "."
                    + Integer.parseInt(a.substring(2, 4), 16) + "." + Integer.parseInt(a.substring(0, 2), 16) + ":" + port;
        }
        if (a.startsWith("0000000000000000FFFF0000")) return address(a.substring(24) + ":" + parts[1]);  // IPv4-mapped
        if (a.equals("00000000000000000000000001000000")) return "[::1]:" + port;
        return "[" + a + "]:" + port;
    }
}
