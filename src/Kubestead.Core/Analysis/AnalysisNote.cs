namespace Kubestead.Analysis;

/// <summary>Something a catch-up has to say once that is not a verdict (the control's history read or not); the driver passes it on as a warning or a verbose line.</summary>
public sealed record AnalysisNote(string Metric, string Text, bool IsWarning);
