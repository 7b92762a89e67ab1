package dev.retort.itest;

import dev.retort.api.run.RunEvent;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * What the tests inside the framework share: the bundle context and the Gogo shell injected, {@code kd:} commands run
 * as a user types them, bundles by symbolic name, the tiny run (two small MiTs on 32×64 synthetic scenes) and waiting
 * for a run's events.
 */
@ExtendWith({BundleContextExtension.class, ServiceExtension.class})
abstract class FrameworkTest {
    /** How long a run's event is waited for: generous, CI machines are slow. */
    private static final long EVENT_WAIT_MS = 300_000;

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    CommandProcessor shell;

    /** One command line, as typed at the shell (a path's {@code \} written as {@code /}); what it prints. */
    String kd(String line) throws Exception {
        return Gogo.run(shell, line.replace('\\', '/'));
    }

    /** Runs {@code command} until its output satisfies {@code condition} (services come and go asynchronously). */
    String await(String command, Predicate<String> condition) throws Exception {
        return Gogo.await(shell, command, condition);
    }

    /** The installed bundle of this symbolic name. */
    Bundle bundle(String bsn) {
        return Stream.of(context.getBundles()).filter(b -> bsn.equals(b.getSymbolicName())).findFirst()
                .orElseThrow(() -> new AssertionError("no bundle " + bsn));
    }

    /**
     * A tiny run's configuration: the teacher (MiT-B2 shape, 16-32-48-64, depth 1) and the student (MiT-B0 shape,
     * 8-16-24-32, depth 1) on the synthetic city at 32×64, 16 training and 4 validation scenes, batch 2, one thread,
     * followed by {@code lines} (which may override any of these), one per line.
     */
    static String tinyRun(String... lines) {
        return String.join("\n", Stream.concat(Stream.of(
                "teacher = mit-b2", "teacher.embed_dims = 16,32,48,64", "teacher.depths = 1,1,1,1", "teacher.num_heads = 1,2,3,4", "teacher.decoder_dim = 32",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "dataset = synthetic", "data.height = 32", "data.width = 64", "data.train_size = 16", "data.val_size = 4",
                "batch_size = 2", "eval_batches = 1", "decay_per = iteration", "log_every = 1", "threads = 1"), Stream.of(lines)).toList()) + "\n";
    }

    /** The first event from index {@code from} on that satisfies {@code condition}. */
    static RunEvent awaitEvent(List<RunEvent> events, int from, Predicate<RunEvent> condition) throws InterruptedException {
        long deadline = System.currentTimeMillis() + EVENT_WAIT_MS;
        while (System.currentTimeMillis() < deadline) {
            for (int i = from; i < events.size(); i++) if (condition.test(events.get(i))) return events.get(i);
            Thread.sleep(20);
        }
        throw new AssertionError("no such event in " + events.subList(Math.max(0, events.size() - 8), events.size()));
    }

    /** The first step at or after {@code step}. */
    static long awaitStep(List<RunEvent> events, long step) throws InterruptedException {
        return awaitEvent(events, 0, e -> e.type() == RunEvent.Type.STEP && e.step() >= step).step();
    }

    /** The first step after {@code after} whose loss terms satisfy the condition. */
    static long awaitTerms(List<RunEvent> events, long after, Predicate<Set<String>> condition) throws InterruptedException {
        return awaitEvent(events, 0, e -> e.type() == RunEvent.Type.STEP && e.step() > after && condition.test(e.metrics().keySet())).step();
    }
}
