package dev.tessera.distributed.server;

import ai.djl.nn.Block;
import ai.djl.training.optimizer.Optimizer;
import dev.tessera.distributed.RpcGroup;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One-call set-ups of machin's helpers ({@code model_server_helper}, {@code grad_server_helper}): each starts the
 * servers on the right members of a group and returns this member's accessors; stateless and thread-safe (the
 * accessors it returns are the caller's to close).
 *
 * <p>Both are collective: every member of the group calls them with the same arguments.
 */
public final class Servers {
    private Servers() {}

    /**
     * Model servers for {@code models}, all on one ordered server hosted by the group's first member (machin's
     * {@code model_server_helper}).
     *
     * @param group the group of every member that pushes or pulls the models
     * @param models the models' names
     * @return this member's accessors, one per model; closing it closes this member's part of the server
     * @throws IllegalArgumentException if there is no model or a name repeats
     */
    public static ModelServers modelServers(RpcGroup group, List<String> models) {
        if (models == null || models.isEmpty() || models.stream().distinct().count() != models.size()) {
            throw new IllegalArgumentException("models=" + models + " (expected distinct names)");
        }
        OrderedServer store = OrderedServer.builder().setName("tessera.models").setGroup(group).build();
        Map<String, PushPullModelServer> byName = new LinkedHashMap<>();
        for (String m : models) {
            byName.put(m, new PushPullModelServer(store, m));
        }
        return new ModelServers(store, Map.copyOf(byName));
    }

    /**
     * Gradient servers for {@code models} (machin's {@code grad_server_helper}): the primary of the {@code i}-th
     * model is member {@code i mod n} of the group (so several models spread their optimizers), every member is a
     * reducer, and the other options are the defaults of {@link PushPullGradServer.Builder}.
     *
     * @param group the group of every member that pushes gradients or pulls the models
     * @param models each model's name and this member's Block of it (the master copy on its primary)
     * @param optimizers makes the optimizer of a model, by name (called only on its primary)
     * @return this member's accessor of each model, by name, in the order given
     * @throws IllegalArgumentException if there is no model
     */
    public static Map<String, PushPullGradServer> gradServers(RpcGroup group, Map<String, Block> models,
            Function<String, Optimizer> optimizers) {
        if (models == null || models.isEmpty()) {
            throw new IllegalArgumentException("models=" + models + " (expected at least one model)");
        }
        List<String> members = group.members();
        Map<String, PushPullGradServer> servers = new LinkedHashMap<>();
        int i = 0;
        for (Map.Entry<String, Block> m : models.entrySet()) {
            String primary = members.get(i++ % members.size());
            PushPullGradServer.Builder b = PushPullGradServer.builder().setName(m.getKey()).setGroup(group)
                    .setModel(m.getValue()).optPrimary(primary).optReducers(members);
            if (primary.equals(group.currentName())) {
                b.setOptimizer(optimizers.apply(m.getKey()));
            }
            servers.put(m.getKey(), b.build());
        }
        return servers;
    }

    /**
     * The model servers of {@link #modelServers}: one accessor per model over one ordered server; thread-safe, it
     * owns that server's accessor in this member.
     *
     * @param store the ordered server that holds every model
     * @param models the accessor of each model, by name
     */
    public record ModelServers(OrderedServer store, Map<String, PushPullModelServer> models) implements AutoCloseable {
        /**
         * The accessor of one model.
         *
         * @param model its name
         * @return its accessor
         * @throws IllegalArgumentException if no such model was set up
         */
        public PushPullModelServer get(String model) {
            PushPullModelServer s = models.get(model);
            if (s == null) {
                throw new IllegalArgumentException("model '" + model + "' is not one of " + models.keySet());
            }
            return s;
        }

        /** Closes this member's part of the ordered server. */
        @Override
        public void close() {
            store.close();
        }
    }
}
