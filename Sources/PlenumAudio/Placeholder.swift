public enum PlenumAudioPlaceholder {}
