using MathNet.Numerics.Distributions;

namespace Kubestead.Analysis;

public enum TestDirection { Increase, Decrease, Either }

/// <summary>Mann-Whitney U test with tie correction and continuity correction (normal approximation), as Kayenta uses it.</summary>
public static class MannWhitneyTest
{
    /// <summary>U of <paramref name="x"/> (the count of pairs where x wins, ties half) and the p-value for the direction.</summary>
    public static (double U, double PValue) Run(IReadOnlyList<double> x, IReadOnlyList<double> y, TestDirection direction)
    {
        int n1 = x.Count, n2 = y.Count;
        if (n1 == 0 || n2 == 0) return (double.NaN, 1);
        var all = x.Select(v => (v, g: 0)).Concat(y.Select(v => (v, g: 1))).OrderBy(t => t.v).ToArray();
        var ranks = new double[all.Length];
        double tieTerm = 0;
        for (var i = 0; i < all.Length;)
        {
            var j = i;
            while (j + 1 < all.Length && all[j + 1].v == all[i].v) j++;
            var avg = (i + j) / 2.0 + 1;
            for (var k = i; k <= j; k++) ranks[k] = avg;
            var t = j - i + 1;
            tieTerm += (double)t * t * t - t;
            i = j + 1;
        }
        var r1 = 0.0;
        for (var i = 0; i < all.Length; i++) if (all[i].g == 0) r1 += ranks[i];
        var u = r1 - n1 * (n1 + 1) / 2.0;
        var n = n1 + n2;
        var mu = n1 * n2 / 2.0;
        var sigma = Math.Sqrt(n1 * n2 / 12.0 * (n + 1 - tieTerm / (n * (n - 1.0))));
        if (sigma == 0) return (u, 1);
        double Upper(double z) => 1 - Normal.CDF(0, 1, z);
        return direction switch
        {
            TestDirection.Increase => (u, Upper((u - mu - 0.5) / sigma)),
            TestDirection.Decrease => (u, Normal.CDF(0, 1, (u - mu + 0.5) / sigma)),
            _ => (u, Math.Min(1, 2 * Upper((Math.Abs(u - mu) - 0.5) / sigma))),
        };
    }
}
