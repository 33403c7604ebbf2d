namespace Kubestead.Core.Tests.Traffic;

/// <summary>Crash points for the interrupt tests: every write from 1 to <c>writes</c>, failing before and after it applies.</summary>
public static class WriteCrashes
{
    public static TheoryData<int, bool> Upto(int writes)
    {
        var data = new TheoryData<int, bool>();
        for (var w = 1; w <= writes; w++)
        {
            data.Add(w, false);
            data.Add(w, true);
        }
        return data;
    }
}
