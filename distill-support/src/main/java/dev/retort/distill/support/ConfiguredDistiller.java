package dev.retort.distill.support;

import ai.djl.engine.Engine;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.Distiller;
import dev.retort.api.error.RetortConfigException;
import dev.retort.distill.support.ComponentConfiguration.Defaults;
import java.lang.annotation.Annotation;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;

/**
 * A distiller component whose configuration is declared once, by its MetaType annotation (see
 * {@link ConfigurationSchema}), and read by {@link #read}: a subclass states its {@code @Component} (PID, name
 * property), its {@code @Designate}d annotation with the defaults, how to read and check its options, how to build
 * its module and how to describe itself. This class does the rest as every Retort distiller must:
 *
 * <ul>
 *   <li>its ConfigAdmin configuration is applied on activation and modification ({@link #configure}); one it cannot
 *       accept (an unknown key, a value that does not parse or is out of range) is reported by {@link #rejection()}
 *       and refuses builds, and the last accepted values stay, never silently the defaults;</li>
 *   <li>{@link #validate} checks a run's {@code module.<name>.} section: an unknown key is an error with the closest
 *       known key and the list of known keys, and the run's values over the configured ones must read;</li>
 *   <li>{@link #options(DistillContext)} gives a build or a re-configuration the options it uses, checked;</li>
 *   <li>{@link #enabled()} follows the annotation's {@code enabled} attribute, when it declares one.</li>
 * </ul>
 *
 * <p>The component binds the PyTorch {@link Engine} so that it is never activated (and DJL never touched) before the
 * launcher's engine exists. Its bundle is built with bnd's {@code -dsannotations-options: inherit}, so that the
 * {@code @Activate}/{@code @Modified} method and the reference declared here become the subclass's.
 *
 * @param <O> the options a build reads (a record)
 */
public abstract class ConfiguredDistiller<O> implements Distiller {
    @Reference(target = "(engine.name=PyTorch)")
    protected Engine engine;

    private final String name;
    private final String pid;
    private final ConfigurationSchema schema;
    private final ComponentConfiguration<Defaults> admin;

    /**
     * @param name     the distiller's name (its {@code retort.distiller} property, a run's module name)
     * @param pid      its configuration PID
     * @param metaType the MetaType annotation its {@code @Designate} names: keys and defaults
     */
    protected ConfiguredDistiller(String name, String pid, Class<? extends Annotation> metaType) {
        this.name = name;
        this.pid = pid;
        this.schema = ConfigurationSchema.of(metaType);
        this.admin = new ComponentConfiguration<>(name, pid, schema.adminKeys(), new Defaults(schema.defaults(), schema.enabledByDefault()),
                NAME_PROPERTY);
    }

    /**
     * Reads and checks the options from a complete configuration (every key has a value). Called for the ConfigAdmin
     * configuration (errors name the PID and the ConfigAdmin key) and for each run's section over it (errors name the
     * distiller and the run key); a value this returns is one a build accepts.
     *
     * @throws IllegalArgumentException from {@code values}' readers, or {@link ConfigValues#invalid}
     */
    protected abstract O read(ConfigValues values);

    /**
     * Applies a ConfigAdmin configuration (Declarative Services calls this with the component's properties on
     * activation and modification).
     */
    @Activate
    @Modified
    public void configure(Map<String, Object> properties) {
        admin.apply(properties, c -> {
            Map<String, Object> given = c.over(schema.asAdminKeys(schema.defaults()));
            read(ConfigValues.admin(schema, pid, given));
            Map<String, Object> byRunKey = new LinkedHashMap<>();
            schema.runKeys().forEach(k -> byRunKey.put(k, given.get(schema.adminKey(k))));
            return new Defaults(byRunKey, schema.switchable() ? c.bool(ConfigurationSchema.ENABLED, schema.enabledByDefault()) : true);
        });
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public Optional<String> rejection() {
        return admin.rejection();
    }

    @Override
    public boolean enabled() {
        return admin.values().enabled();
    }

    @Override
    public void validate(Map<String, ?> configuration) {
        check(configuration);
    }

    /** The options a module built (or re-configured) with {@code context} uses: the run's section over the configured values, checked. */
    public O options(DistillContext context) {
        return check(context.config());
    }

    /** The options of the configuration in force, without a run's section (e.g. for {@link #description()}). */
    protected O configured() {
        return read(ConfigValues.run(schema, name, admin.values().values()));
    }

    /** A configured value as the user wrote it (e.g. a list {@code "0.1, 0.1,0.5,1"}), for descriptions. */
    protected Object configuredValue(String runKey) {
        schema.adminKey(runKey);  // a known key
        return admin.values().values().get(runKey);
    }

    /** An error for the user about a build ({@link RetortConfigException}): "{@code <name>}: {@code message}". */
    protected IllegalArgumentException invalid(String message) {
        return new RetortConfigException(name + ": " + message);
    }

    /** This distiller's keys and defaults. */
    public ConfigurationSchema schema() {
        return schema;
    }

    private O check(Map<String, ?> configuration) {
        admin.checkRun(configuration, schema.runKeys());
        Map<String, Object> merged = new LinkedHashMap<>(admin.values().values());
        if (configuration != null) merged.putAll(configuration);
        return read(ConfigValues.run(schema, name, merged));
    }
}
