import { Link } from "react-router";
import { Result, Button } from "antd";
import { ROUTES } from "../routes";

export default function NotFound() {
  return (
    <Result
      status="404"
      title="Not found"
      subTitle="There is no page at this address."
      extra={
        <Link to={ROUTES.home}>
          <Button type="primary">Home</Button>
        </Link>
      }
    />
  );
}
