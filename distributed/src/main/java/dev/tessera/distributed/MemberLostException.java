package dev.tessera.distributed;

/**
 * An immutable, thread-safe report (holding no resources) that a member of the World left or died while a call,
 * barrier or reference depended on it. Failure detection reports a killed process within about two seconds, so an
 * operation that waits on a dead member fails with this exception instead of hanging.
 */
public final class MemberLostException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** The name of the member that was lost. */
    private final String member;

    /**
     * Reports that {@code member} is gone.
     *
     * @param member the lost member's name
     * @param what what failed because of it, such as {@code "rpcSync to worker-1 in group 'g'"}
     */
    public MemberLostException(String member, String what) {
        super(what + " failed: member '" + member + "' left the World (it died, was killed, or closed its World); "
                + "the survivors can carry on without it or stop");
        this.member = member;
    }

    /**
     * The lost member.
     *
     * @return its name
     */
    public String member() {
        return member;
    }
}
