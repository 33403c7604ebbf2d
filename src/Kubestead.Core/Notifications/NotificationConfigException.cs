namespace Kubestead.Notifications;

/// <summary>A sink's URL or key could not be read or used; the message never holds either.</summary>
public sealed class NotificationConfigException(string message) : Exception(message);
