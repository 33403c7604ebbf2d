namespace Kubestead.Bench.CanarySim;

/// <summary>
/// xoshiro256** (Blackman and Vigna) seeded through SplitMix64, so the same seed gives the same numbers on any machine.
/// Samplers: Poisson by Knuth's product method in chunks of mean at most 30 (exact, deterministic); binomial by direct
/// trials for small n and by waiting times (geometric skips) otherwise; normal by Box-Muller.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;

    public Rng(ulong seed)
    {
        var sm = seed;
        _s0 = SplitMix64(ref sm);
        _s1 = SplitMix64(ref sm);
        _s2 = SplitMix64(ref sm);
        _s3 = SplitMix64(ref sm);
    }

    /// <summary>A generator with an explicit state (for checking against the reference implementation).</summary>
    internal static Rng FromState(ulong s0, ulong s1, ulong s2, ulong s3)
    {
        var r = new Rng(0);
        (r._s0, r._s1, r._s2, r._s3) = (s0, s1, s2, s3);
        return r;
    }

    public static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Seed for replicate i of cell c: independent of thread scheduling.</summary>
    public static ulong Derive(ulong seed, int cell, int replicate)
    {
        var s = seed ^ ((ulong)cell << 32) ^ (ulong)replicate;
        return SplitMix64(ref s);
    }

    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public int Poisson(double mean)
    {
        var k = 0;
        while (mean > 30)
        {
            k += PoissonSmall(30);
            mean -= 30;
        }
        return k + PoissonSmall(mean);
    }

    private int PoissonSmall(double mean)
    {
        if (mean <= 0) return 0;
        var limit = Math.Exp(-mean);
        var k = 0;
        var p = NextDouble();
        while (p > limit)
        {
            k++;
            p *= NextDouble();
        }
        return k;
    }

    public int Binomial(int n, double p)
    {
        if (n <= 0 || p <= 0) return 0;
        if (p >= 1) return n;
        if (n < 40)
        {
            var x = 0;
            for (var i = 0; i < n; i++) if (NextDouble() < p) x++;
            return x;
        }
        if (p > 0.5) return n - Binomial(n, 1 - p);
        // Large counts: the normal approximation (deterministic, rounded and clamped) keeps 4,000 replicates fast.
        var variance = n * p * (1 - p);
        if (variance > 50) return (int)Math.Clamp(Math.Round(n * p + Math.Sqrt(variance) * Normal()), 0, n);
        // Waiting times: the gap to the next success is geometric.
        var logq = Math.Log(1 - p);
        if (logq == 0) return 0; // p below double precision: no success in any realistic n
        var count = 0;
        var pos = 0.0;
        while (true)
        {
            // Kept in double: for tiny p a single gap can exceed the range of an integer.
            pos += Math.Floor(Math.Log(1 - NextDouble()) / logq) + 1;
            if (pos > n) return count;
            count++;
        }
    }

    public double Normal() => Math.Sqrt(-2 * Math.Log(1 - NextDouble())) * Math.Cos(2 * Math.PI * NextDouble());

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang (shape below 1 through the boost U^(1/shape)).</summary>
    public double Gamma(double shape)
    {
        if (shape < 1) return Gamma(shape + 1) * Math.Pow(NextDouble(), 1 / shape);
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do { x = Normal(); v = 1 + c * x; } while (v <= 0);
            v = v * v * v;
            var u = NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v))) return d * v;
        }
    }
}
