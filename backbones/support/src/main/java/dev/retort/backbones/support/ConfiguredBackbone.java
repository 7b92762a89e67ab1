package dev.retort.backbones.support;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.backbone.NetworkSpec;
import dev.retort.api.backbone.SegmentationNetwork;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Objects;
import java.util.function.BiFunction;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;

/**
 * A backbone family as a Declarative Services component: a subclass states its {@code @Component} (PID,
 * {@code retort.backbone} and {@code retort.backbone.variants} properties), its {@code @Designate}d MetaType
 * annotation, how a configuration is read and how a network is declared and built. This class does the rest:
 *
 * <ul>
 *   <li>its ConfigAdmin configuration ({@link BackboneProperties}) is applied on activation and modification and gives
 *       the defaults of every network; it is validated (against the first variant) before it replaces the last one,
 *       so a bad value fails the update and the previous defaults stay;</li>
 *   <li>a run's network configuration overrides those defaults key by key.</li>
 * </ul>
 *
 * <p>The component binds the PyTorch {@link Engine} so that it is never activated (and DJL never touched) before the
 * launcher's engine exists. Its bundle is built with bnd's {@code -dsannotations-options: inherit}, so that the
 * {@code @Activate}/{@code @Modified} method and the reference declared here become the subclass's.
 *
 * @param <C> the family's architecture record
 */
public abstract class ConfiguredBackbone<C extends BackboneConfig> implements Backbone {
    @Reference(target = "(engine.name=PyTorch)")
    protected Engine engine;

    private final String name;
    private final List<String> variants;
    private final BiFunction<String, Map<String, ?>, C> reader;
    private volatile Map<String, Object> defaults = Map.of();

    /**
     * @param name     the family ({@code retort.backbone})
     * @param variants its presets, in order ({@code retort.backbone.variants})
     * @param reader   a preset with overrides as the architecture record, rejecting bad keys and values
     * @param metaType the {@code @Designate}d MetaType annotation; its defaults must be {@link BackboneProperties}'
     */
    protected ConfiguredBackbone(String name, Collection<String> variants, BiFunction<String, Map<String, ?>, C> reader,
                                 Class<? extends Annotation> metaType) {
        this.name = name;
        this.variants = List.copyOf(variants);
        this.reader = reader;
        if (this.variants.isEmpty()) throw new IllegalArgumentException(name + ": no variants");
        checkDefaults(metaType);
    }

    /** The block tree of {@code config}, declared, not created: no arrays. */
    protected abstract DeclaredModel declare(C config);

    /** The network of {@code config} with its parameters created in {@code manager} from {@code seed}. */
    protected abstract SegmentationNetwork build(C config, NDManager manager, long seed);

    /**
     * Applies a ConfigAdmin configuration (Declarative Services calls this on activation and modification).
     *
     * @throws IllegalArgumentException when the values do not make a network; the previous defaults stay
     */
    @Activate
    @Modified
    protected void configure(BackboneProperties config) {
        Map<String, Object> d = new HashMap<>();
        d.put("num_classes", config.classes());
        d.put("drop_path_rate", config.dropPathRate());
        d.put("head_dropout", config.headDropout());
        reader.apply(variants.get(0), d);  // validates before anything is replaced
        defaults = Map.copyOf(d);
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final List<String> variants() {
        return variants;
    }

    /** The architecture of {@code variant}: the configured defaults, then {@code config} over them. */
    public C config(String variant, Map<String, ?> config) {
        Map<String, Object> merged = new HashMap<>(defaults);
        if (config != null) merged.putAll(config);
        return reader.apply(variant, merged);
    }

    @Override
    public NetworkSpec describe(String variant, Map<String, ?> config) {
        C c = config(variant, config);
        DeclaredModel model = declare(c);
        return spec(c, model, model.parameterCount());
    }

    @Override
    public ModelCost cost(String variant, Map<String, ?> config, int height, int width) {
        return declare(config(variant, config)).cost(height, width);
    }

    @Override
    public ModelCost cost(String variant, Map<String, ?> config, int height, int width, Set<String> taps) {
        return declare(config(variant, config)).cost(height, width, taps);
    }

    @Override
    public SegmentationNetwork build(String variant, Map<String, ?> config, NDManager manager, long seed) {
        return build(config(variant, config), manager, seed);
    }

    /** What a network of {@code config} declared as {@code model} with {@code parameters} trainable values is. */
    public static NetworkSpec spec(BackboneConfig config, DeclaredModel model, long parameters) {
        return new NetworkSpec(config.variant(), model.taps(), config.classes(), parameters, config.asMap());
    }

    // One default in two places (MetaType for people, the property type for DS) must not drift.
    private void checkDefaults(Class<? extends Annotation> metaType) {
        for (Method m : BackboneProperties.class.getDeclaredMethods()) {
            Object expected = m.getDefaultValue();
            Object declared;
            try {
                declared = metaType.getMethod(m.getName()).getDefaultValue();
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException(name + ": " + metaType.getName() + " does not declare " + m.getName(), e);
            }
            if (!Objects.equals(expected, declared)) {
                throw new IllegalStateException(name + ": " + metaType.getName() + "." + m.getName() + " defaults to " + declared
                        + ", but the component reads " + expected + " when it is not configured");
            }
        }
    }
}
