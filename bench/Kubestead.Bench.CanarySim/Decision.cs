namespace Kubestead.Bench.CanarySim;

public enum Decision { Rollback, Promote }
