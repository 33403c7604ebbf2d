namespace Kubestead.Analysis;

/// <summary>
/// Makes one window's canary and control failure counts comparable by rank (issue #29 item 5). A rank test of per-window
/// failure <i>rates</i> compares P(canary rate &gt; control rate) with 1/2, which is not "equal rates" when the sides
/// see different traffic: 100 canary requests at 1% show a rate of 0 or at least 1% while 10,000 control requests show
/// about 1% every time, so a good canary ranks above control in most windows. Here the larger side is cut down to the
/// smaller side's requests by drawing that many of its requests without replacement (a hypergeometric draw), and the
/// canary's failures are thinned, each kept with probability 1/ratio: with failures independent given the window's
/// rate, both counts are then Binomial(n, p) draws with the same n, equal in distribution when the canary's rate is
/// exactly ratio times control's, and the canary's stochastically smaller when it is lower. The draws are seeded from the
/// window's counts and position, so a judge restored from its saved windows draws the same values.
/// </summary>
internal static class EqualExposureSample
{
    /// <summary>The canary's and control's failure counts over a common exposure n (their per-window sample values are count/n).</summary>
    public static (double Canary, double Control) Draw(long canaryRequests, long canaryFailures, long controlRequests, long controlFailures,
        double ratio, long position, ulong salt)
    {
        var state = Seed(salt, position, canaryRequests, canaryFailures, controlRequests, controlFailures);
        // A ratio below 1 (a Pass null narrowed by the pods' band below detectRatio = 1) thins the control's failures instead:
        // both sides are then Binomial(n, ratio·p) draws at the null, as above.
        var keptCanary = Thin(canaryFailures, 1 / ratio, ref state);
        var keptControl = Thin(controlFailures, ratio, ref state);
        var n = Math.Min(canaryRequests, controlRequests);
        var canary = canaryRequests > n ? Hypergeometric(canaryRequests, keptCanary, n, ref state) : keptCanary;
        var control = controlRequests > n ? Hypergeometric(controlRequests, keptControl, n, ref state) : keptControl;
        return ((double)canary / n, (double)control / n);
    }

    /// <summary>Each of <paramref name="failures"/> kept with probability <paramref name="keep"/>.</summary>
    private static long Thin(long failures, double keep, ref ulong state)
    {
        if (keep >= 1) return failures;
        long kept = 0;
        for (long i = 0; i < failures; i++) if (Uniform(ref state) < keep) kept++;
        return kept;
    }

    /// <summary>Failures among <paramref name="draws"/> requests drawn without replacement from <paramref name="population"/> holding <paramref name="failures"/>.</summary>
    private static long Hypergeometric(long population, long failures, long draws, ref ulong state)
    {
        // Walk over the rarer kind of request: the j-th of them is drawn with probability (slots left) / (requests left).
        var rare = Math.Min(failures, population - failures);
        long taken = 0;
        for (long j = 0; j < rare; j++)
            if (Uniform(ref state) * (population - j) < draws - taken) taken++;
        return rare == failures ? taken : draws - taken;
    }

    private static ulong Seed(ulong salt, long position, long nc, long xc, long ns, long xs)
    {
        var s = salt;
        foreach (var v in new[] { position, nc, xc, ns, xs }) s = Mix(s + Gamma ^ (ulong)v);
        return s;
    }

    // SplitMix64 (Steele, Lea and Flood 2014): a small, well-mixed deterministic stream; no shared state.
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static double Uniform(ref ulong state)
    {
        state += Gamma;
        return (Mix(state) >> 11) * (1.0 / (1UL << 53));
    }
}
