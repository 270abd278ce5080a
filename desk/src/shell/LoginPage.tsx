// /login: email + password through the authProvider; a refused login is shown, never thrown.
import { useState } from "react";
import { useLogin } from "@refinedev/core";
import { useQueryClient } from "@tanstack/react-query";
import { Alert, Button, Card, Form, Input, Typography } from "antd";

interface LoginValues {
  email: string;
  password: string;
}

function messageOf(e: unknown): string {
  if (e && typeof e === "object" && "message" in e && typeof (e as Error).message === "string")
    return (e as Error).message || "Login failed";
  return "Login failed";
}

export default function LoginPage() {
  const { mutate: login, isPending } = useLogin<LoginValues>();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);

  const onFinish = (values: LoginValues) => {
    setError(null);
    login(values, {
      onSuccess: (res) => {
        if (!res.success) setError(messageOf(res.error) || "Invalid email or password");
        // metadata fetched while logged out (401s) must be fetched again as this user
        else void queryClient.invalidateQueries({ queryKey: ["fm-meta"] });
      },
      onError: (e) => setError(messageOf(e)),
    });
  };

  return (
    <div style={{ minHeight: "100vh", display: "grid", placeItems: "center", background: "#f5f5f5" }}>
      <Card style={{ width: 360 }}>
        <Typography.Title level={3} style={{ marginTop: 0 }}>
          Log in to the Desk
        </Typography.Title>
        {error && (
          <Alert data-testid="login-error" type="error" showIcon message={error} style={{ marginBottom: 16 }} />
        )}
        <Form<LoginValues> layout="vertical" onFinish={onFinish} requiredMark={false}>
          <Form.Item label="Email" name="email" rules={[{ required: true, message: "Enter your email" }]}>
            <Input autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item label="Password" name="password" rules={[{ required: true, message: "Enter your password" }]}>
            <Input.Password autoComplete="current-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={isPending}>
            Log in
          </Button>
        </Form>
      </Card>
    </div>
  );
}
