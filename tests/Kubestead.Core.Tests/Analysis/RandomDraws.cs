namespace Kubestead.Core.Tests.Analysis;

/// <summary>Seeded draws shared by the judges' small simulations.</summary>
internal static class RandomDraws
{
    public static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>Poisson by multiplication below a mean of 40, a rounded normal above (the simulations need speed, not tails).</summary>
    public static long Poisson(Random rng, double mean)
    {
        if (mean <= 0) return 0;
        if (mean > 40) return Math.Max(0, (long)Math.Round(mean + Math.Sqrt(mean) * Normal(rng)));
        var limit = Math.Exp(-mean);
        long k = 0;
        var product = rng.NextDouble();
        while (product > limit) { k++; product *= rng.NextDouble(); }
        return k;
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang's method.</summary>
    public static double Gamma(Random rng, double shape)
    {
        if (shape < 1) return Gamma(rng, shape + 1) * Math.Pow(rng.NextDouble(), 1 / shape);
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal(rng);
                v = 1 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            var u = rng.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v))) return d * v;
        }
    }
}
