//! `--device auto|cpu|cuda[:N]`: parsing, and resolving to a tch device that exists.

use tch::Device;

pub use glean_core::config::DeviceChoice;

use super::LearnError;

/// Resolving a [`DeviceChoice`] to a tch device that exists.
pub trait ResolveDevice {
    /// The tch device, or an error naming what is missing (never a libtorch crash).
    fn resolve(self) -> Result<Device, LearnError>;
}

impl ResolveDevice for DeviceChoice {
    fn resolve(self) -> Result<Device, LearnError> {
        match self {
            DeviceChoice::Auto => Ok(Device::cuda_if_available()),
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda(n) => {
                let count = tch::Cuda::device_count().max(0) as usize;
                if n < count {
                    Ok(Device::Cuda(n))
                } else if count == 0 {
                    Err(LearnError::Device(format!(
                        "cuda:{n} asked for, but libtorch sees no CUDA device (use --device cpu or auto)"
                    )))
                } else {
                    Err(LearnError::Device(format!(
                        "cuda:{n} asked for, but libtorch sees only {count} CUDA device(s) (cuda:0..cuda:{})",
                        count - 1
                    )))
                }
            }
        }
    }
}

/// Human-readable name of a resolved device.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(n) => format!("cuda:{n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// What `glean doctor` prints: the devices libtorch sees, what `--device auto` picks,
/// and a tensor computed on it, so a broken libtorch set-up shows itself at once.
pub fn doctor() -> Result<String, LearnError> {
    let device = DeviceChoice::Auto.resolve()?;
    let sum = tch::Tensor::f_from_slice(&[1.0f32, 2.0, 3.0])?
        .f_to_device(device)?
        .f_sum(tch::Kind::Float)?
        .f_double_value(&[])?;
    Ok(format!(
        "cuda available: {}\ncuda devices:   {}\ncudnn:          {}\nauto device:    {}\nlibtorch works: 1 + 2 + 3 = {sum}\n",
        tch::Cuda::is_available(),
        tch::Cuda::device_count(),
        tch::Cuda::cudnn_is_available(),
        describe(device),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctor_computes_on_the_auto_device() {
        let report = doctor().unwrap();
        assert!(report.contains("1 + 2 + 3 = 6"), "{report}");
        assert!(
            report.contains(&format!(
                "auto device:    {}",
                describe(Device::cuda_if_available())
            )),
            "{report}"
        );
    }

    #[test]
    fn parses_device_names() {
        assert_eq!("auto".parse(), Ok(DeviceChoice::Auto));
        assert_eq!("CPU".parse(), Ok(DeviceChoice::Cpu));
        assert_eq!("cuda".parse(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:2".parse(), Ok(DeviceChoice::Cuda(2)));
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
        assert!("tpu".parse::<DeviceChoice>().unwrap_err().contains("tpu"));
        assert_eq!(DeviceChoice::Cuda(3).to_string(), "cuda:3");
    }

    #[test]
    fn missing_cuda_device_is_an_error() {
        let beyond = tch::Cuda::device_count().max(0) as usize + 1;
        let err = DeviceChoice::Cuda(beyond).resolve().unwrap_err();
        assert!(err.to_string().contains("cuda"), "{err}");
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), Device::Cpu);
        // Auto always resolves to something usable.
        DeviceChoice::Auto.resolve().unwrap();
    }
}
